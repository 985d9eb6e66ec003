"""A fresh PostgreSQL store for tests: one database per test run, one schema per test.

PostgreSQL must be reachable (`KITH_TEST_POSTGRES`, default the local server with
trust auth); when it is not, the tests that need it fail: they never skip."""

from __future__ import annotations

import asyncio
import os
import uuid

import asyncpg

SERVER = os.environ.get("KITH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


async def _admin(statement: str, database: str = "test") -> None:
    conn = await asyncpg.connect(f"{SERVER}/{database}")
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def create_database() -> str:
    name = f"kith_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    return name


def drop_database(name: str) -> None:
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def fresh_schema_url(database: str) -> tuple[str, str]:
    """(storage URL, schema name); the engine creates the schema when it starts."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    return f"{SERVER}/{database}?schema={schema}", schema


def drop_schema(database: str, schema: str) -> None:
    asyncio.run(_admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE', database))
