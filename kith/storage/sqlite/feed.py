"""The committed-event feed on the embedded engine.

One writer thread commits every transaction, one after another, and an event's
`seq` (AUTOINCREMENT, never reused, even after an erase) is taken inside the
transaction that stores it: so `seq` order is commit order, and a reader that
sees `seq` N has seen every event before it. The feed is the events table
itself; reading it costs the collector nothing."""

from __future__ import annotations

import sqlite3
import time

import orjson

from kith.storage.ports import FeedEntry, FeedPosition
from kith.storage.sqlite.core import SQLiteCore


class SQLiteFeed:
    def __init__(self, core: SQLiteCore) -> None:
        self._core = core

    async def read(self, after: FeedPosition, limit: int) -> list[FeedEntry]:
        def query(conn: sqlite3.Connection) -> list[tuple[int, str]]:
            return conn.execute(
                "SELECT seq, doc FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                (after.seq, limit),
            ).fetchall()

        rows = await self._core.read(query)
        return [FeedEntry(FeedPosition(0, seq), orjson.loads(doc)) for seq, doc in rows]

    async def head(self) -> FeedPosition:
        row = self._core.hot.execute("SELECT max(seq) FROM events").fetchone()
        return FeedPosition(0, int(row[0] or 0))

    async def claim(
        self, consumer: str, owner: str, lease: float, start: FeedPosition | None = None
    ) -> FeedPosition | None:
        def work(conn: sqlite3.Connection) -> FeedPosition | None:
            now = time.time()
            row = conn.execute(
                "SELECT txid, seq, owner, lease_until FROM feed_consumers WHERE name = ?",
                (consumer,),
            ).fetchone()
            if row is None:
                if start is None:
                    head = conn.execute("SELECT max(seq) FROM events").fetchone()[0] or 0
                    start_at = FeedPosition(0, int(head))
                else:
                    start_at = start
                conn.execute(
                    "INSERT INTO feed_consumers (name, txid, seq, owner, lease_until)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (consumer, start_at.txid, start_at.seq, owner, now + lease),
                )
                return start_at
            if row[2] not in (None, owner) and row[3] > now:
                return None
            conn.execute(
                "UPDATE feed_consumers SET owner = ?, lease_until = ? WHERE name = ?",
                (owner, now + lease, consumer),
            )
            return FeedPosition(int(row[0]), int(row[1]))

        return await self._core.writer.submit(work)

    async def acknowledge(self, consumer: str, owner: str, position: FeedPosition) -> bool:
        return await self._core.writer.submit(
            lambda conn: (
                conn.execute(
                    "UPDATE feed_consumers SET txid = ?, seq = ? WHERE name = ? AND owner = ?",
                    (position.txid, position.seq, consumer, owner),
                ).rowcount
                > 0
            )
        )

    async def release(self, consumer: str, owner: str) -> None:
        await self._core.writer.submit(
            lambda conn: conn.execute(
                "UPDATE feed_consumers SET owner = NULL, lease_until = 0"
                " WHERE name = ? AND owner = ?",
                (consumer, owner),
            )
        )

    async def positions(self) -> dict[str, FeedPosition]:
        rows = self._core.hot.execute("SELECT name, txid, seq FROM feed_consumers").fetchall()
        return {str(name): FeedPosition(int(txid), int(seq)) for name, txid, seq in rows}
