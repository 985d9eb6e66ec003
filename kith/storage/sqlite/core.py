"""What every port of the embedded engine shares: the file, its connections, the writer.

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
from pathlib import Path
from typing import Any, Literal, TypeVar

import orjson

from kith.storage.cursor import encode_cursor
from kith.storage.ports import Document, Page
from kith.storage.sqlite.schema import migrate
from kith.storage.sqlite.writer import GroupCommitWriter

T = TypeVar("T")
Row = tuple[Any, Any, str]
"""(sort key, tie-break, document text): what a page and its cursor are made of."""


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


class SQLiteCore:
    def __init__(
        self,
        path: Path,
        *,
        synchronous: Literal["normal", "full"],
        read_connections: int,
        max_batch: int,
        max_queue: int,
    ) -> None:
        self.path = path
        self.synchronous = synchronous
        self.writer = GroupCommitWriter(
            lambda: connect(path, synchronous=synchronous),
            max_batch=max_batch,
            max_queue=max_queue,
        )
        self._pool = ThreadPoolExecutor(read_connections, thread_name_prefix="kith-read")
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._hot: sqlite3.Connection | None = None

    def open(self) -> None:
        migrate_file(self.path)
        self.writer.start()
        self._hot = connect(self.path, readonly=True)

    def close(self) -> None:
        self.writer.close()
        self._pool.shutdown(wait=True)
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        if self._hot is not None:
            self._hot.close()
            self._hot = None

    @property
    def hot(self) -> sqlite3.Connection:
        """The event loop's own read connection, for point reads."""
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

    async def read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        """Run a list query on a pooled read connection, off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: query(self._reader()))

    def doc(self, sql: str, *params: Any) -> Document | None:
        row = self.hot.execute(sql, params).fetchone()
        return orjson.loads(row[0]) if row else None


def page_of(rows: list[Row], limit: int) -> Page[Document]:
    """A page from `limit + 1` rows of (sort key, tie-break, doc): the extra row says
    whether there is a next page, the last kept row's key is its cursor."""
    more = len(rows) > limit
    rows = rows[:limit]
    items = [orjson.loads(row[2]) for row in rows]
    return Page(items, encode_cursor(rows[-1][0], rows[-1][1]) if more else None)


def text(document: Document) -> str:
    return orjson.dumps(document).decode()
