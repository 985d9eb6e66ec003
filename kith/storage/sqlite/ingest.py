"""The ingest log on the embedded engine: one row per payload, appended through the
group-commit writer as plain rows (the fast path), read in `seq` order."""

from __future__ import annotations

import sqlite3

import orjson

from kith.storage.ports import INGEST_CONSUMER, Document, FeedPosition
from kith.storage.sqlite.core import SQLiteCore, text
from kith.storage.sqlite.writer import RowWrites

_APPEND = "INSERT INTO ingest (doc) VALUES (?)"


class SQLiteIngest:
    def __init__(self, core: SQLiteCore) -> None:
        self._core = core

    async def append(self, entries: list[Document]) -> None:
        await self._core.writer.submit_rows(
            RowWrites([(_APPEND, [(text(entry),) for entry in entries])])
        )

    async def read(self, after: FeedPosition, limit: int) -> list[tuple[FeedPosition, Document]]:
        def query(conn: sqlite3.Connection) -> list[tuple[int, str]]:
            return conn.execute(
                "SELECT seq, doc FROM ingest WHERE seq > ? ORDER BY seq LIMIT ?",
                (after.seq, limit),
            ).fetchall()

        rows = await self._core.read(query)
        return [(FeedPosition(0, int(seq)), orjson.loads(doc)) for seq, doc in rows]

    async def trim(self, through: FeedPosition) -> None:
        await self._core.writer.submit(
            lambda conn: conn.execute("DELETE FROM ingest WHERE seq <= ?", (through.seq,))
        )

    async def backlog(self) -> int:
        """Payloads after the processor's acknowledged position. Rows are appended with
        AUTOINCREMENT (a rolled-back append rolls its number back too) and deleted only
        from the head, so this is arithmetic on the primary key's ends and the
        position, not a count(*) that would scan every payload."""
        row = self._core.hot.execute(
            "SELECT (SELECT max(seq) FROM ingest), (SELECT min(seq) FROM ingest),"
            " (SELECT seq FROM feed_consumers WHERE name = ?)",
            (INGEST_CONSUMER,),
        ).fetchone()
        newest, oldest, done = row
        if newest is None:
            return 0
        return max(0, int(newest) - max(int(done or 0), int(oldest) - 1))
