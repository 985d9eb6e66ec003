"""Raw SQL against a test's store, whichever engine it is: for checks the API cannot make
(what is stored byte for byte, that the schema is intact)."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import asyncpg

from kith.config import Settings
from kith.storage.postgres.core import connection_options


def rows(settings: Settings, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Run one query (with `?` placeholders on SQLite, `$n` on PostgreSQL)."""
    if settings.storage_kind == "sqlite":
        conn = sqlite3.connect(settings.sqlite_path)
        try:
            return [tuple(row) for row in conn.execute(sql, args)]
        finally:
            conn.close()

    async def fetch() -> list[tuple[Any, ...]]:
        dsn, server_settings = connection_options(settings.storage_url or "")
        conn = await asyncpg.connect(dsn, server_settings=server_settings)
        try:
            return [tuple(row) for row in await conn.fetch(sql, *args)]
        finally:
            await conn.close()

    return asyncio.run(fetch())
