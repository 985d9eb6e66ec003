"""The embedded storage engine.

Writes go through the group-commit writer thread. Point reads on the collector's
hot path run inline on the event loop's own read connection (a primary-key
lookup costs microseconds, less than a hop to a thread); list queries run on a
small pool of read-only connections in worker threads. WAL lets all of them read
while the writer commits."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Literal, TypeVar

import msgspec
import orjson

from kith.domain.apikey import ApiKey
from kith.domain.errors import Conflict
from kith.domain.source import Source
from kith.storage.cursor import decode_cursor, encode_cursor
from kith.storage.locks import KeyedLocks
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
from kith.storage.rows import UnitSql, unit_statements
from kith.storage.sqlite import data_queries
from kith.storage.sqlite.schema import migrate
from kith.storage.sqlite.writer import GroupCommitWriter, RowWrites

T = TypeVar("T")
_source_decoder = msgspec.json.Decoder(Source)


def connect(path: Path, *, synchronous: str = "full", readonly: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {'FULL' if synchronous == 'full' else 'NORMAL'}")
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA cache_size = -65536")
    # erased personal data is overwritten with zeros instead of lingering in
    # free pages (see `erase_profile`); costs a little on deletes only
    conn.execute("PRAGMA secure_delete = ON")
    if readonly:
        conn.execute("PRAGMA query_only = ON")
    return conn


def migrate_file(path: Path) -> tuple[int, int]:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = connect(path)
    try:
        return migrate(conn)
    finally:
        conn.close()


class SQLiteStorage:
    kind: Literal["sqlite"] = "sqlite"

    def __init__(
        self,
        path: Path,
        *,
        synchronous: Literal["normal", "full"] = "full",
        read_connections: int = 4,
        max_batch: int = 2000,
    ) -> None:
        self.path = path
        self.locks = KeyedLocks()
        self._synchronous = synchronous
        self._writer = GroupCommitWriter(
            lambda: connect(path, synchronous=synchronous), max_batch=max_batch
        )
        self._pool = ThreadPoolExecutor(read_connections, thread_name_prefix="kith-read")
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._hot: sqlite3.Connection | None = None

    # life cycle ---------------------------------------------------------------
    async def start(self) -> None:
        migrate_file(self.path)
        self._writer.start()
        self._hot = connect(self.path, readonly=True)

    async def close(self) -> None:
        await asyncio.to_thread(self._writer.close)
        self._pool.shutdown(wait=True)
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        if self._hot is not None:
            self._hot.close()
            self._hot = None

    def subscribe(self, listener: Callable[[str, str], None]) -> None:
        """One process owns the file, so no other process can change anything."""

    def writer_stats(self) -> WriterStats:
        return WriterStats(self._writer.units, self._writer.commits, self._writer.queued)

    # reads -----------------------------------------------------------------------
    def _hot_conn(self) -> sqlite3.Connection:
        if self._hot is None:
            raise RuntimeError("storage is not started")
        return self._hot

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, readonly=True)
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    async def _read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: query(self._reader()))

    def _doc(self, sql: str, key: str) -> Document | None:
        row = self._hot_conn().execute(sql, (key,)).fetchone()
        return orjson.loads(row[0]) if row else None

    # tracking --------------------------------------------------------------------
    async def get_session(self, session_id: str) -> Document | None:
        return self._doc("SELECT doc FROM sessions WHERE id = ?", session_id)

    async def get_profile(self, profile_id: str) -> Document | None:
        return self._doc("SELECT doc FROM profiles WHERE id = ?", profile_id)

    async def resolve_profile_id(self, any_id: str) -> str | None:
        row = (
            self._hot_conn()
            .execute("SELECT profile_id FROM identities WHERE kind = 'id' AND value = ?", (any_id,))
            .fetchone()
        )
        return str(row[0]) if row else None

    async def existing_event_ids(self, event_ids: list[str]) -> set[str]:
        if not event_ids:
            return set()
        marks = ",".join("?" * len(event_ids))
        rows = self._hot_conn().execute(f"SELECT id FROM events WHERE id IN ({marks})", event_ids)
        return {str(row[0]) for row in rows}

    async def commit_visit(self, unit: VisitUnit) -> None:
        rows = visit_rows(unit)
        if not unit.merged or unit.profile is None:
            await self._writer.submit_rows(rows)
            return
        survivor, merged = unit.profile["id"], list(unit.merged)

        def merge(conn: sqlite3.Connection) -> None:
            for sql, params in rows.statements:
                conn.executemany(sql, params)
            move_merged(conn, survivor, merged)

        await self._writer.submit(merge)

    async def identity_page(
        self, after: tuple[str, str] | None, limit: int
    ) -> list[tuple[str, str, str]]:
        start = after or ("", "")

        def query(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
            return conn.execute(
                "SELECT kind, value, profile_id FROM identities WHERE (kind, value) > (?, ?)"
                " ORDER BY kind, value LIMIT ?",
                (*start, limit),
            ).fetchall()

        return await self._read(query)

    async def identity_owners(self, entries: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        conn = self._hot_conn()
        owners: dict[tuple[str, str], str] = {}
        for kind, value in entries:
            row = conn.execute(
                "SELECT profile_id FROM identities WHERE kind = ? AND value = ?", (kind, value)
            ).fetchone()
            if row is not None:
                owners[(kind, value)] = str(row[0])
        return owners

    # data reads --------------------------------------------------------------------
    async def get_event(self, event_id: str) -> Document | None:
        return self._doc("SELECT doc FROM events WHERE id = ?", event_id)

    async def list_events(
        self, where: EventFilter, cursor: str | None, limit: int
    ) -> Page[Document]:
        after = decode_cursor(cursor, 2) if cursor else None
        rows = await self._read(
            lambda conn: data_queries.list_events(conn, where, after, limit + 1)
        )
        return _page(rows, limit)

    # sources -----------------------------------------------------------------------
    async def get_source(self, source_id: str) -> Source | None:
        row = (
            self._hot_conn()
            .execute("SELECT doc FROM sources WHERE id = ?", (source_id,))
            .fetchone()
        )
        return _source_decoder.decode(row[0]) if row else None

    async def list_sources(self, cursor: str | None, limit: int) -> Page[Source]:
        after = decode_cursor(cursor, 1)[0] if cursor else ""

        def query(conn: sqlite3.Connection) -> list[tuple[str, str]]:
            return conn.execute(
                "SELECT id, doc FROM sources WHERE id > ? ORDER BY id LIMIT ?", (after, limit + 1)
            ).fetchall()

        rows = await self._read(query)
        more = len(rows) > limit
        rows = rows[:limit]
        items = [_source_decoder.decode(row[1]) for row in rows]
        return Page(items, encode_cursor(rows[-1][0]) if more else None)

    async def insert_source(self, source: Source) -> None:
        doc = msgspec.json.encode(source).decode()

        def work(conn: sqlite3.Connection) -> None:
            try:
                conn.execute("INSERT INTO sources (id, doc) VALUES (?, ?)", (source.id, doc))
            except sqlite3.IntegrityError:
                raise Conflict(f"Source {source.id!r} already exists") from None

        await self._writer.submit(work)

    async def replace_source(self, source: Source) -> bool:
        doc = msgspec.json.encode(source).decode()

        def work(conn: sqlite3.Connection) -> bool:
            cur = conn.execute("UPDATE sources SET doc = ? WHERE id = ?", (doc, source.id))
            return cur.rowcount > 0

        return await self._writer.submit(work)

    async def delete_source(self, source_id: str) -> bool:
        return await self._writer.submit(
            lambda conn: conn.execute("DELETE FROM sources WHERE id = ?", (source_id,)).rowcount > 0
        )

    # configuration documents -----------------------------------------------------
    async def get_config(self, kind: str, key: str) -> Document | None:
        row = (
            self._hot_conn()
            .execute("SELECT doc FROM config_docs WHERE kind = ? AND id = ?", (kind, key))
            .fetchone()
        )
        return orjson.loads(row[0]) if row else None

    async def list_config(self, kind: str) -> list[Document]:
        def query(conn: sqlite3.Connection) -> list[tuple[str]]:
            return conn.execute(
                "SELECT doc FROM config_docs WHERE kind = ? ORDER BY id", (kind,)
            ).fetchall()

        return [orjson.loads(row[0]) for row in await self._read(query)]

    async def put_config(self, kind: str, key: str, document: Document) -> None:
        doc = orjson.dumps(document).decode()
        await self._writer.submit(
            lambda conn: conn.execute(
                "INSERT INTO config_docs (kind, id, doc) VALUES (?, ?, ?)"
                " ON CONFLICT (kind, id) DO UPDATE SET doc = excluded.doc",
                (kind, key, doc),
            )
        )

    async def delete_config(self, kind: str, key: str) -> bool:
        return await self._writer.submit(
            lambda conn: (
                conn.execute(
                    "DELETE FROM config_docs WHERE kind = ? AND id = ?", (kind, key)
                ).rowcount
                > 0
            )
        )

    # API keys ----------------------------------------------------------------------
    async def get_key(self, key_id: str) -> ApiKey | None:
        row = (
            self._hot_conn()
            .execute(
                "SELECT id, role, name, secret_hash, created FROM api_keys WHERE id = ?",
                (key_id,),
            )
            .fetchone()
        )
        return _key(row) if row else None

    async def list_keys(self) -> list[ApiKey]:
        def query(conn: sqlite3.Connection) -> list[tuple[str, str, str, str, str]]:
            return conn.execute(
                "SELECT id, role, name, secret_hash, created FROM api_keys ORDER BY created, id"
            ).fetchall()

        return [_key(row) for row in await self._read(query)]

    async def insert_key(self, key: ApiKey) -> None:
        def work(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    "INSERT INTO api_keys (id, role, name, secret_hash, created)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (key.id, key.role.value, key.name, key.secret_hash, key.created),
                )
            except sqlite3.IntegrityError:
                raise Conflict(f"Key {key.id!r} already exists") from None

        await self._writer.submit(work)

    async def delete_key(self, key_id: str) -> bool:
        return await self._writer.submit(
            lambda conn: conn.execute("DELETE FROM api_keys WHERE id = ?", (key_id,)).rowcount > 0
        )

    async def has_admin_key(self) -> bool:
        row = (
            self._hot_conn()
            .execute("SELECT 1 FROM api_keys WHERE role = 'admin' LIMIT 1")
            .fetchone()
        )
        return row is not None

    # data API: search, timelines, stats, erase, bulk export ----------------------------
    async def search_profiles(
        self, where: ProfileQuery, cursor: str | None, limit: int
    ) -> Page[Document]:
        after = decode_cursor(cursor, 2) if cursor else None

        def query(conn: sqlite3.Connection) -> list[data_queries.Row]:
            exact = data_queries.identity_matches(conn, where.q) if where.q else None
            return data_queries.list_profiles(conn, where, after, limit + 1, exact or None)

        return _page(await self._read(query), limit)

    async def list_sessions(
        self, where: SessionFilter, cursor: str | None, limit: int
    ) -> Page[Document]:
        after = decode_cursor(cursor, 2) if cursor else None
        rows = await self._read(
            lambda conn: data_queries.list_sessions(conn, where, after, limit + 1)
        )
        return _page(rows, limit)

    async def event_stats(
        self, interval: StatsInterval, from_: datetime, to: datetime, by: StatsBy | None
    ) -> Document:
        return await self._read(
            lambda conn: data_queries.event_stats(conn, interval, from_, to, by)
        )

    async def erase_profile(self, profile_id: str) -> Erased | None:
        counts = await self._writer.submit(
            lambda conn: data_queries.erase_profile(conn, profile_id)
        )
        if counts is None:
            return None
        await asyncio.to_thread(self._truncate_wal)
        return Erased(**counts)

    def _truncate_wal(self) -> None:
        """Checkpoint and empty the WAL, so the erased rows' old page images leave it too.

        `secure_delete` zeroes them in the pages; the WAL still holds the pages as
        they were before the delete until a checkpoint copies the new ones back and
        the log is truncated. Best effort: if readers keep the log busy past the
        timeout, SQLite's own checkpoints recycle it later."""
        conn = connect(self.path, synchronous=self._synchronous)
        try:
            conn.execute("PRAGMA busy_timeout = 2000")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            conn.close()

    async def export_page(
        self,
        table: DataTable,
        from_: datetime | None,
        to: datetime | None,
        cursor: str | None,
        limit: int,
    ) -> Page[Document]:
        after = decode_cursor(cursor, 2) if cursor else None
        rows = await self._read(
            lambda conn: data_queries.export_rows(conn, table, from_, to, after, limit + 1)
        )
        return _page(rows, limit)

    async def count_rows(
        self, table: DataTable, from_: datetime | None, to: datetime | None
    ) -> int:
        return await self._read(lambda conn: data_queries.count_rows(conn, table, from_, to))


def _page(rows: list[data_queries.Row], limit: int) -> Page[Document]:
    """A page from `limit + 1` rows of (sort key, tie-break, doc): the extra row says
    whether there is a next page, the last kept row's key is its cursor."""
    more = len(rows) > limit
    rows = rows[:limit]
    items = [orjson.loads(row[2]) for row in rows]
    return Page(items, encode_cursor(rows[-1][0], rows[-1][1]) if more else None)


def _key(row: tuple[str, str, str, str, str]) -> ApiKey:
    from kith.domain.access import Role

    return ApiKey(id=row[0], role=Role(row[1]), name=row[2], secret_hash=row[3], created=row[4])


_UPSERT_PROFILE = (
    "INSERT INTO profiles (id, doc, version, updated) VALUES (?, ?, 1, ?)"
    " ON CONFLICT (id) DO UPDATE SET doc = excluded.doc,"
    " version = profiles.version + 1, updated = excluded.updated"
)
_UPSERT_IDENTITY = (
    "INSERT INTO identities (kind, value, profile_id) VALUES (?, ?, ?)"
    " ON CONFLICT (kind, value) DO UPDATE SET profile_id = excluded.profile_id"
)
_UPSERT_SESSION = (
    "INSERT INTO sessions (id, profile_id, created, doc) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (id) DO UPDATE SET profile_id = excluded.profile_id, doc = excluded.doc"
)
_INSERT_EVENT = (
    "INSERT OR IGNORE INTO events"
    " (id, profile_id, session_id, type, source_id, time, status, doc)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


_SQL = UnitSql(
    upsert_profile=_UPSERT_PROFILE,
    upsert_identity=_UPSERT_IDENTITY,
    upsert_session=_UPSERT_SESSION,
    insert_event=_INSERT_EVENT,
    event_channel_column=False,  # a virtual column computed from the document
)


def _text(document: Document) -> str:
    return orjson.dumps(document).decode()


def visit_rows(unit: VisitUnit) -> RowWrites:
    """The unit as plain rows, serialised here, on the caller's thread."""
    return RowWrites(unit_statements(unit, _SQL, _text))


def move_merged(conn: sqlite3.Connection, survivor: str, merged: list[str]) -> None:
    """Everything the merged profiles owned now belongs to the survivor; they are gone.

    Runs in the same transaction as the survivor's upsert, so a reader sees the
    profiles either before the merge or after it, never half-way."""
    for old in merged:
        if old == survivor:
            continue
        conn.execute("DELETE FROM profiles WHERE id = ?", (old,))
        conn.execute("UPDATE identities SET profile_id = ? WHERE profile_id = ?", (survivor, old))
        conn.execute(
            "INSERT INTO identities (kind, value, profile_id) VALUES ('id', ?, ?)"
            " ON CONFLICT (kind, value) DO UPDATE SET profile_id = excluded.profile_id",
            (old, survivor),
        )
        conn.execute(
            "UPDATE sessions SET profile_id = ?, doc = json_set(doc, '$.profile', json(?))"
            " WHERE profile_id = ?",
            (survivor, orjson.dumps({"id": survivor}).decode(), old),
        )
        conn.execute(
            "UPDATE events SET profile_id = ?, doc = json_set(doc, '$.profile', json(?))"
            " WHERE profile_id = ?",
            (survivor, orjson.dumps({"id": survivor}).decode(), old),
        )
