"""What every port of the PostgreSQL engine shares: connection options, pools, the writer.

Many Kith processes share one database. Writes go through a group-commit
writer task per process; reads are plain pooled queries. Configuration changes
are announced with NOTIFY on the channel `kith_config` in the transaction that
makes them; every process LISTENs and drops its cached copy."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import asyncpg
import orjson

from kith.domain.clock import utcnow
from kith.storage.cursor import encode_cursor
from kith.storage.ports import Document, Page
from kith.storage.postgres.schema import ensure_partitions, migrate
from kith.storage.postgres.writer import PgGroupCommitWriter

CONFIG_CHANNEL = "kith_config"
Row = tuple[Any, Any, Document]
"""(sort key, tie-break, document): what a page and its cursor are made of."""


def connection_options(url: str) -> tuple[str, dict[str, str]]:
    """The DSN for asyncpg and its server settings. `?schema=NAME` selects a schema
    (search_path), which the test suite uses to give every test a fresh store."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    settings: dict[str, str] = {"application_name": "kith"}
    schema = query.pop("schema", [None])[0]
    if schema:
        settings["search_path"] = schema
    rest = "&".join(f"{key}={value}" for key, values in query.items() for value in values)
    return urlunsplit(parts._replace(query=rest)), settings


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    return value


def encode_jsonb(value: Any) -> bytes:
    """jsonb cannot hold U+0000, which JSON allows: such characters (rare, and never
    in ids, which the collector refuses) are stored as U+FFFD instead of failing."""
    data = orjson.dumps(value)
    if b"\\u0000" in data:
        data = orjson.dumps(_without_nul(value))
    return b"\x01" + data


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb",
        encoder=encode_jsonb,
        decoder=lambda data: orjson.loads(data[1:]),
        schema="pg_catalog",
        format="binary",
    )


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """A connection goes back to the pool as it is (asyncpg still rolls back an open
    transaction). The default reset (`RESET ALL`, `UNLISTEN *`, unlocking every
    advisory lock) costs a round trip per query; Kith sets no session state on pool
    connections, listens on a connection of its own, and unlocks what it locks."""


async def open_pool(url: str, *, min_size: int = 2, max_size: int = 20) -> asyncpg.Pool:
    dsn, server_settings = connection_options(url)
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings=server_settings,
        init=_init_connection,
        reset=_keep_session,
    )
    assert pool is not None
    return pool


async def connect(url: str) -> asyncpg.Connection:
    """A single connection outside the pools (LISTEN, migrations)."""
    dsn, server_settings = connection_options(url)
    return await asyncpg.connect(dsn, server_settings=server_settings)


async def migrate_database(url: str) -> tuple[int, int]:
    _, server_settings = connection_options(url)
    conn = await connect(url)
    try:
        if "search_path" in server_settings:
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{server_settings["search_path"]}"')
        versions = await migrate(conn)
        await ensure_partitions(conn, utcnow())
        return versions
    finally:
        await conn.close()


def where_of(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path}"


class PgCore:
    """The pools and the writer, created when the engine starts."""

    def __init__(self) -> None:
        self._pool: asyncpg.Pool | None = None
        self._writer: PgGroupCommitWriter | None = None

    def attach(self, pool: asyncpg.Pool, writer: PgGroupCommitWriter) -> None:
        self._pool, self._writer = pool, writer

    def detach(self) -> None:
        self._pool = self._writer = None

    @property
    def started(self) -> bool:
        return self._pool is not None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("storage is not started")
        return self._pool

    @property
    def writer(self) -> PgGroupCommitWriter:
        if self._writer is None:
            raise RuntimeError("storage is not started")
        return self._writer


async def notify(conn: asyncpg.Connection, kind: str, key: str) -> None:
    """Delivered to every listening process when (and only if) this transaction commits."""
    await conn.execute("SELECT pg_notify($1, $2)", CONFIG_CHANNEL, f"{kind}:{key}")


def affected(status: str) -> int:
    """Rows affected, from a command status such as `UPDATE 1`."""
    return int(status.rsplit(" ", 1)[-1])


def page_of(rows: list[Row], limit: int) -> Page[Document]:
    more = len(rows) > limit
    rows = rows[:limit]
    items = [row[2] for row in rows]
    return Page(items, encode_cursor(rows[-1][0], rows[-1][1]) if more else None)
