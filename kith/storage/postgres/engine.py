"""The PostgreSQL engine: the storage port over an asyncpg pool.

Many Kith processes share one database. Writes go through a group-commit
writer task per process; reads are plain pooled queries. Locks are advisory
locks (see `locks`), so processes on different machines serialise on the same
visitor and the same person. Configuration changes are announced with NOTIFY on
the channel `kith_config` in the transaction that makes them; every process
LISTENs and drops its cached copy."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit, urlunsplit

import asyncpg
import msgspec
import orjson

from kith.domain.access import Role
from kith.domain.apikey import ApiKey
from kith.domain.clock import utcnow
from kith.domain.errors import Conflict
from kith.domain.source import Source
from kith.storage.cursor import decode_cursor, encode_cursor
from kith.storage.ports import (
    DataTable,
    Document,
    Erased,
    EventFilter,
    Page,
    ProfileQuery,
    SessionFilter,
    StatsBy,
    StatsInterval,
    VisitUnit,
    WriterStats,
)
from kith.storage.postgres import data_queries
from kith.storage.postgres.locks import AdvisoryLocks
from kith.storage.postgres.schema import ensure_partitions, migrate
from kith.storage.postgres.writer import PgGroupCommitWriter, Statements
from kith.storage.rows import UnitSql, unit_statements

log = logging.getLogger(__name__)
_source_decoder = msgspec.json.Decoder(Source)
CONFIG_CHANNEL = "kith_config"
ChangeListener = Callable[[str, str], None]
"""Called with (kind, key) when another process changed configuration."""


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


async def open_pool(url: str, *, min_size: int = 2, max_size: int = 20) -> asyncpg.Pool:
    dsn, server_settings = connection_options(url)
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings=server_settings,
        init=_init_connection,
    )
    assert pool is not None
    return pool


async def migrate_database(url: str) -> tuple[int, int]:
    dsn, server_settings = connection_options(url)
    conn = await asyncpg.connect(dsn, server_settings=server_settings)
    try:
        if "search_path" in server_settings:
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{server_settings["search_path"]}"')
        versions = await migrate(conn)
        await ensure_partitions(conn, utcnow())
        return versions
    finally:
        await conn.close()


class PostgresStorage:
    kind: Literal["postgresql"] = "postgresql"

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 8,
        lock_connections: int = 32,
        max_batch: int = 2000,
        max_queue: int = 10_000,
    ) -> None:
        self.url = url
        self._pool_size = pool_size
        self._lock_connections = lock_connections
        self._max_batch = max_batch
        self._max_queue = max_queue
        self._pool: asyncpg.Pool | None = None
        self._lock_pool: asyncpg.Pool | None = None
        self._writer: PgGroupCommitWriter | None = None
        self._locks: AdvisoryLocks | None = None
        self._listener: asyncpg.Connection | None = None
        self._listeners: list[ChangeListener] = []
        self._maintenance: asyncio.Task[None] | None = None

    # life cycle -------------------------------------------------------------------
    async def start(self) -> None:
        await migrate_database(self.url)
        self._pool = await open_pool(self.url, max_size=self._pool_size)
        # locks get their own connections: a request holds one for its whole length,
        # and must never wait for a query connection held by another lock holder
        self._lock_pool = await open_pool(self.url, min_size=1, max_size=self._lock_connections)
        self._locks = AdvisoryLocks(self._lock_pool)
        self._writer = PgGroupCommitWriter(
            self._pool, max_batch=self._max_batch, max_queue=self._max_queue
        )
        self._writer.start()
        dsn, server_settings = connection_options(self.url)
        self._listener = await asyncpg.connect(dsn, server_settings=server_settings)
        await self._listener.add_listener(CONFIG_CHANNEL, self._notified)
        self._maintenance = asyncio.create_task(self._partitions_ahead())

    async def close(self) -> None:
        if self._maintenance is not None:
            self._maintenance.cancel()
            await asyncio.gather(self._maintenance, return_exceptions=True)
        if self._writer is not None:
            await self._writer.close()
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
        for pool in (self._lock_pool, self._pool):
            if pool is not None:
                await pool.close()
        self._pool = self._lock_pool = None

    async def _partitions_ahead(self) -> None:
        """Keep three months of event partitions ahead, checked twice a day."""
        while True:
            await asyncio.sleep(12 * 3600)
            try:
                async with self.pool.acquire() as conn:
                    await ensure_partitions(conn, utcnow())
            except Exception:  # retried at the next round; the default partition catches all
                log.exception("could not create event partitions")

    def subscribe(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        kind, _, key = payload.partition(":")
        for listener in self._listeners:
            listener(kind, key)

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("storage is not started")
        return self._pool

    @property
    def locks(self) -> AdvisoryLocks:
        if self._locks is None:
            raise RuntimeError("storage is not started")
        return self._locks

    @property
    def writer(self) -> PgGroupCommitWriter:
        if self._writer is None:
            raise RuntimeError("storage is not started")
        return self._writer

    def writer_stats(self) -> WriterStats:
        writer = self._writer
        if writer is None:
            return WriterStats(0, 0, 0)
        return WriterStats(writer.units, writer.commits, writer.queued)

    # tracking ---------------------------------------------------------------------
    async def get_session(self, session_id: str) -> Document | None:
        doc: Document | None = await self.pool.fetchval(
            "SELECT doc FROM sessions WHERE id = $1", session_id
        )
        return doc

    async def get_profile(self, profile_id: str) -> Document | None:
        doc: Document | None = await self.pool.fetchval(
            "SELECT doc FROM profiles WHERE id = $1", profile_id
        )
        return doc

    async def resolve_profile_id(self, any_id: str) -> str | None:
        found = await self.pool.fetchval(
            "SELECT profile_id FROM identities WHERE kind = 'id' AND value = $1", any_id
        )
        return str(found) if found is not None else None

    async def existing_event_ids(self, event_ids: list[str]) -> set[str]:
        if not event_ids:
            return set()
        rows = await self.pool.fetch("SELECT id FROM events WHERE id = ANY($1::text[])", event_ids)
        return {str(row[0]) for row in rows}

    async def identity_page(
        self, after: tuple[str, str] | None, limit: int
    ) -> list[tuple[str, str, str]]:
        start = after or ("", "")
        rows = await self.pool.fetch(
            "SELECT kind, value, profile_id FROM identities WHERE (kind, value) > ($1, $2)"
            " ORDER BY kind, value LIMIT $3",
            *start,
            limit,
        )
        return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]

    async def identity_owners(self, entries: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        if not entries:
            return {}
        rows = await self.pool.fetch(
            "SELECT i.kind, i.value, i.profile_id FROM identities i"
            " JOIN unnest($1::text[], $2::text[]) AS e(kind, value)"
            " ON i.kind = e.kind AND i.value = e.value",
            [kind for kind, _ in entries],
            [value for _, value in entries],
        )
        return {(str(r[0]), str(r[1])): str(r[2]) for r in rows}

    async def commit_visit(self, unit: VisitUnit) -> None:
        statements = visit_statements(unit)
        if not unit.merged or unit.profile is None:
            await self.writer.submit(statements)
            return
        survivor, merged = unit.profile["id"], list(unit.merged)

        async def merge(conn: asyncpg.Connection) -> None:
            for sql, rows in statements.statements:
                await conn.executemany(sql, rows)
            await move_merged(conn, survivor, merged)

        await self.writer.submit(merge)

    # data reads -------------------------------------------------------------------
    async def get_event(self, event_id: str) -> Document | None:
        doc: Document | None = await self.pool.fetchval(
            "SELECT doc FROM events WHERE id = $1 LIMIT 1", event_id
        )
        return doc

    async def list_events(
        self, where: EventFilter, cursor: str | None, limit: int
    ) -> Page[Document]:
        after = decode_cursor(cursor, 2) if cursor else None
        rows = await data_queries.list_events(self.pool, where, after, limit + 1)
        return _page(rows, limit)

    # sources ------------------------------------------------------------------------
    async def get_source(self, source_id: str) -> Source | None:
        doc = await self.pool.fetchval("SELECT doc::text FROM sources WHERE id = $1", source_id)
        return _source_decoder.decode(doc) if doc is not None else None

    async def list_sources(self, cursor: str | None, limit: int) -> Page[Source]:
        after = decode_cursor(cursor, 1)[0] if cursor else ""
        rows = await self.pool.fetch(
            "SELECT id, doc::text FROM sources WHERE id > $1 ORDER BY id LIMIT $2",
            after,
            limit + 1,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        items = [_source_decoder.decode(row[1]) for row in rows]
        return Page(items, encode_cursor(rows[-1][0]) if more else None)

    async def insert_source(self, source: Source) -> None:
        doc = msgspec.to_builtins(source)

        async def work(conn: asyncpg.Connection) -> None:
            try:
                await conn.execute("INSERT INTO sources (id, doc) VALUES ($1, $2)", source.id, doc)
            except asyncpg.UniqueViolationError:
                raise Conflict(f"Source {source.id!r} already exists") from None
            await _notify(conn, "source", source.id)

        await self.writer.submit(work)

    async def replace_source(self, source: Source) -> bool:
        doc = msgspec.to_builtins(source)

        async def work(conn: asyncpg.Connection) -> bool:
            status = await conn.execute("UPDATE sources SET doc = $1 WHERE id = $2", doc, source.id)
            await _notify(conn, "source", source.id)
            return _count(status) > 0

        return bool(await self.writer.submit(work))

    async def delete_source(self, source_id: str) -> bool:
        async def work(conn: asyncpg.Connection) -> bool:
            status = await conn.execute("DELETE FROM sources WHERE id = $1", source_id)
            await _notify(conn, "source", source_id)
            return _count(status) > 0

        return bool(await self.writer.submit(work))

    # configuration documents --------------------------------------------------------
    async def get_config(self, kind: str, key: str) -> Document | None:
        doc: Document | None = await self.pool.fetchval(
            "SELECT doc FROM config_docs WHERE kind = $1 AND id = $2", kind, key
        )
        return doc

    async def list_config(self, kind: str) -> list[Document]:
        rows = await self.pool.fetch(
            "SELECT doc FROM config_docs WHERE kind = $1 ORDER BY id", kind
        )
        return [row[0] for row in rows]

    async def put_config(self, kind: str, key: str, document: Document) -> None:
        async def work(conn: asyncpg.Connection) -> None:
            await conn.execute(
                "INSERT INTO config_docs (kind, id, doc) VALUES ($1, $2, $3)"
                " ON CONFLICT (kind, id) DO UPDATE SET doc = excluded.doc",
                kind,
                key,
                document,
            )
            await _notify(conn, kind, key)

        await self.writer.submit(work)

    async def delete_config(self, kind: str, key: str) -> bool:
        async def work(conn: asyncpg.Connection) -> bool:
            status = await conn.execute(
                "DELETE FROM config_docs WHERE kind = $1 AND id = $2", kind, key
            )
            await _notify(conn, kind, key)
            return _count(status) > 0

        return bool(await self.writer.submit(work))

    # API keys -------------------------------------------------------------------------
    async def get_key(self, key_id: str) -> ApiKey | None:
        row = await self.pool.fetchrow(
            "SELECT id, role, name, secret_hash, created FROM api_keys WHERE id = $1", key_id
        )
        return _key(row) if row else None

    async def list_keys(self) -> list[ApiKey]:
        rows = await self.pool.fetch(
            "SELECT id, role, name, secret_hash, created FROM api_keys ORDER BY created, id"
        )
        return [_key(row) for row in rows]

    async def insert_key(self, key: ApiKey) -> None:
        async def work(conn: asyncpg.Connection) -> None:
            try:
                await conn.execute(
                    "INSERT INTO api_keys (id, role, name, secret_hash, created)"
                    " VALUES ($1, $2, $3, $4, $5)",
                    key.id,
                    key.role.value,
                    key.name,
                    key.secret_hash,
                    key.created,
                )
            except asyncpg.UniqueViolationError:
                raise Conflict(f"Key {key.id!r} already exists") from None

        await self.writer.submit(work)

    async def delete_key(self, key_id: str) -> bool:
        # keys are read from the table on every request, never cached: nobody to notify
        status = await self.writer.submit(
            lambda conn: conn.execute("DELETE FROM api_keys WHERE id = $1", key_id)
        )
        return _count(status) > 0

    async def has_admin_key(self) -> bool:
        return bool(
            await self.pool.fetchval("SELECT EXISTS (SELECT 1 FROM api_keys WHERE role = 'admin')")
        )

    # data API -------------------------------------------------------------------------
    async def search_profiles(
        self, where: ProfileQuery, cursor: str | None, limit: int
    ) -> Page[Document]:
        after = decode_cursor(cursor, 2) if cursor else None
        return _page(await data_queries.list_profiles(self.pool, where, after, limit + 1), limit)

    async def list_sessions(
        self, where: SessionFilter, cursor: str | None, limit: int
    ) -> Page[Document]:
        after = decode_cursor(cursor, 2) if cursor else None
        return _page(await data_queries.list_sessions(self.pool, where, after, limit + 1), limit)

    async def event_stats(
        self, interval: StatsInterval, from_: datetime, to: datetime, by: StatsBy | None
    ) -> Document:
        stats: Document = await data_queries.event_stats(self.pool, interval, from_, to, by)
        return stats

    async def erase_profile(self, profile_id: str) -> Erased | None:
        counts = await self.writer.submit(lambda conn: data_queries.erase_profile(conn, profile_id))
        return None if counts is None else Erased(**counts)

    async def export_page(
        self,
        table: DataTable,
        from_: datetime | None,
        to: datetime | None,
        cursor: str | None,
        limit: int,
    ) -> Page[Document]:
        after = decode_cursor(cursor, 2) if cursor else None
        rows = await data_queries.export_rows(self.pool, table, from_, to, after, limit + 1)
        return _page(rows, limit)

    async def count_rows(
        self, table: DataTable, from_: datetime | None, to: datetime | None
    ) -> int:
        return int(await data_queries.count_rows(self.pool, table, from_, to))


async def _notify(conn: asyncpg.Connection, kind: str, key: str) -> None:
    """Delivered to every listening process when (and only if) this transaction commits."""
    await conn.execute("SELECT pg_notify($1, $2)", CONFIG_CHANNEL, f"{kind}:{key}")


def _count(status: str) -> int:
    """Rows affected, from a command status such as `UPDATE 1`."""
    return int(status.rsplit(" ", 1)[-1])


def _page(rows: list[tuple[Any, Any, Document]], limit: int) -> Page[Document]:
    more = len(rows) > limit
    rows = rows[:limit]
    items = [row[2] for row in rows]
    return Page(items, encode_cursor(rows[-1][0], rows[-1][1]) if more else None)


def _key(row: asyncpg.Record) -> ApiKey:
    return ApiKey(id=row[0], role=Role(row[1]), name=row[2], secret_hash=row[3], created=row[4])


_UPSERT_PROFILE = (
    "INSERT INTO profiles (id, doc, version, updated) VALUES ($1, $2, 1, $3)"
    " ON CONFLICT (id) DO UPDATE SET doc = excluded.doc,"
    " version = profiles.version + 1, updated = excluded.updated"
)
_UPSERT_IDENTITY = (
    "INSERT INTO identities (kind, value, profile_id) VALUES ($1, $2, $3)"
    " ON CONFLICT (kind, value) DO UPDATE SET profile_id = excluded.profile_id"
)
_UPSERT_SESSION = (
    "INSERT INTO sessions (id, profile_id, created, doc) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (id) DO UPDATE SET profile_id = excluded.profile_id, doc = excluded.doc"
)
_INSERT_EVENT = (
    "INSERT INTO events (id, profile_id, session_id, type, source_id, time, status, channel, doc)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING"
)


_SQL = UnitSql(
    upsert_profile=_UPSERT_PROFILE,
    upsert_identity=_UPSERT_IDENTITY,
    upsert_session=_UPSERT_SESSION,
    insert_event=_INSERT_EVENT,
    event_channel_column=True,
)


def _as_is(document: Document) -> Document:
    return document  # the jsonb codec encodes it


def visit_statements(unit: VisitUnit) -> Statements:
    return Statements(unit_statements(unit, _SQL, _as_is))


async def move_merged(conn: asyncpg.Connection, survivor: str, merged: list[str]) -> None:
    """Everything the merged profiles owned now belongs to the survivor (same transaction)."""
    others = [old for old in merged if old != survivor]
    if not others:
        return
    owner = {"id": survivor}
    await conn.execute("DELETE FROM profiles WHERE id = ANY($1::text[])", others)
    await conn.execute(
        "UPDATE identities SET profile_id = $1 WHERE profile_id = ANY($2::text[])", survivor, others
    )
    await conn.executemany(
        "INSERT INTO identities (kind, value, profile_id) VALUES ('id', $1, $2)"
        " ON CONFLICT (kind, value) DO UPDATE SET profile_id = excluded.profile_id",
        [(old, survivor) for old in others],
    )
    await conn.execute(
        "UPDATE sessions SET profile_id = $1, doc = jsonb_set(doc, '{profile}', $2)"
        " WHERE profile_id = ANY($3::text[])",
        survivor,
        owner,
        others,
    )
    await conn.execute(
        "UPDATE events SET profile_id = $1, doc = jsonb_set(doc, '{profile}', $2)"
        " WHERE profile_id = ANY($3::text[])",
        survivor,
        owner,
        others,
    )
