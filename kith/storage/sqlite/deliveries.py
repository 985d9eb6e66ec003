"""The delivery queue on the embedded engine.

Claims and outcomes go through the group-commit writer like every write, so a
claim is serialised with the commits that queue deliveries; one process owns
the file, so its clock is the store's clock."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from kith.storage.cursor import decode_cursor, encode_cursor
from kith.storage.ports import Delivery, DeliveryStats, DeliveryStatus, Outcome, Page
from kith.storage.rows import delivery_row
from kith.storage.sqlite.core import SQLiteCore

_NOW = "CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)"
INSERT_DELIVERY = (
    "INSERT INTO deliveries (id, destination, status, event_id, profile_id, debounce, body,"
    f" created, next_attempt, expires) VALUES (?1, ?2, 'pending', ?3, ?4, ?5, ?6, {_NOW},"
    f" {_NOW} + ?7, {_NOW} + ?8)"
    " ON CONFLICT (destination, debounce) WHERE debounce IS NOT NULL DO NOTHING"
)
_COLUMNS = (
    "id, destination, event_id, profile_id, body, debounce, status, attempts, last_status,"
    " last_error, created, next_attempt, expires, finished"
)


def _now() -> int:
    return int(time.time() * 1_000_000)


def _delivery(row: tuple[Any, ...]) -> Delivery:
    return Delivery(
        id=row[0],
        destination=row[1],
        event_id=row[2],
        profile_id=row[3],
        body=row[4],
        debounce=row[5],
        status=row[6],
        attempts=row[7],
        last_status=row[8],
        last_error=row[9],
        created=row[10],
        next_attempt=row[11],
        expires=row[12],
        finished=row[13],
    )


def _settle(conn: sqlite3.Connection, outcomes: list[Outcome]) -> int:
    now = _now()
    rows = [
        (
            o.status,
            o.last_status,
            o.last_error,
            now + int(o.retry_in * 1_000_000),
            None if o.status == "pending" else now,
            0 if o.counted else 1,
            o.id,
            o.owner,
        )
        for o in outcomes
    ]
    return conn.executemany(
        "UPDATE deliveries SET status = ?, last_status = ?, last_error = ?,"
        " next_attempt = ?, finished = ?, owner = NULL,"
        " attempts = attempts - ? WHERE id = ? AND owner = ?",
        rows,
    ).rowcount


class SQLiteDeliveries:
    def __init__(self, core: SQLiteCore) -> None:
        self._core = core

    async def add(self, deliveries: list[Delivery]) -> None:
        if deliveries:
            rows = [delivery_row(d) for d in deliveries]
            await self._core.writer.submit(lambda conn: conn.executemany(INSERT_DELIVERY, rows))

    async def claim(self, destination: str, owner: str, limit: int, lease: float) -> list[Delivery]:
        # a read first: an empty claim through the writer would commit, and every
        # commit wakes the lanes, which would claim again, forever
        due = self._core.hot.execute(
            "SELECT 1 FROM deliveries WHERE destination = ? AND status = 'pending'"
            " AND next_attempt <= ? LIMIT 1",
            (destination, _now()),
        ).fetchone()
        if due is None:
            return []

        def work(conn: sqlite3.Connection) -> list[Delivery]:
            now = _now()
            rows = conn.execute(
                "UPDATE deliveries SET owner = ?, next_attempt = ?, attempts = attempts + 1,"
                " debounce = NULL WHERE id IN (SELECT id FROM deliveries WHERE destination = ?"
                " AND status = 'pending' AND next_attempt <= ? ORDER BY next_attempt LIMIT ?)"
                f" RETURNING {_COLUMNS}",
                (owner, now + int(lease * 1_000_000), destination, now, limit),
            ).fetchall()
            found = [_delivery(row) for row in rows]
            found.sort(key=lambda d: d.created)
            return found

        return await self._core.writer.submit(work)

    async def settle(self, outcomes: list[Outcome]) -> int:
        if not outcomes:
            return 0
        return await self._core.writer.submit(lambda conn: _settle(conn, outcomes))

    async def page(
        self, destination: str, status: DeliveryStatus | None, cursor: str | None, limit: int
    ) -> Page[Delivery]:
        after = decode_cursor(cursor, 2) if cursor else None

        def query(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
            clauses: list[str] = ["destination = ?"]
            args: list[Any] = [destination]
            if status is not None:
                clauses.append("status = ?")
                args.append(status)
            if after is not None:
                clauses.append("(created, id) < (?, ?)")
                args += after
            return conn.execute(
                f"SELECT {_COLUMNS} FROM deliveries WHERE {' AND '.join(clauses)}"
                " ORDER BY created DESC, id DESC LIMIT ?",
                [*args, limit + 1],
            ).fetchall()

        rows = await self._core.read(query)
        items = [_delivery(row) for row in rows[:limit]]
        more = len(rows) > limit
        return Page(items, encode_cursor(items[-1].created, items[-1].id) if more else None)

    async def replay(
        self,
        destination: str,
        status: DeliveryStatus,
        created_from: int | None,
        created_to: int | None,
        max_age: float,
    ) -> int:
        def work(conn: sqlite3.Connection) -> int:
            now = _now()
            clauses = ["destination = ?", "status = ?"]
            args: list[Any] = [destination, status]
            if created_from is not None:
                clauses.append("created >= ?")
                args.append(created_from)
            if created_to is not None:
                clauses.append("created <= ?")
                args.append(created_to)
            return conn.execute(
                "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt = ?,"
                " expires = ?, finished = NULL, owner = NULL"
                f" WHERE {' AND '.join(clauses)}",
                [now, now + int(max_age * 1_000_000), *args],
            ).rowcount

        return await self._core.writer.submit(work)

    async def purge(self, destination: str) -> int:
        return await self._core.writer.submit(
            lambda conn: (
                conn.execute(
                    "DELETE FROM deliveries WHERE destination = ?", (destination,)
                ).rowcount
            )
        )

    async def prune(self, finished_before_seconds: float, limit: int) -> int:
        cutoff = _now() - int(finished_before_seconds * 1_000_000)
        old = self._core.hot.execute(
            "SELECT 1 FROM deliveries WHERE finished IS NOT NULL AND finished < ? LIMIT 1",
            (cutoff,),
        ).fetchone()
        if old is None:  # nothing to do: write (and wake the lanes) not at all
            return 0
        return await self._core.writer.submit(
            lambda conn: (
                conn.execute(
                    "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries"
                    " WHERE finished IS NOT NULL AND finished < ? LIMIT ?)",
                    (cutoff, limit),
                ).rowcount
            )
        )

    async def stats(self, destination: str) -> DeliveryStats:
        def query(conn: sqlite3.Connection) -> DeliveryStats:
            counts = dict.fromkeys(("pending", "delivered", "dead"), 0)
            retries = 0
            for status, count, attempts in conn.execute(
                "SELECT status, count(*), sum(max(attempts - 1, 0)) FROM deliveries"
                " WHERE destination = ? GROUP BY status",
                (destination,),
            ):
                counts[status] = count
                retries += attempts or 0
            oldest = conn.execute(
                "SELECT min(created) FROM deliveries WHERE destination = ? AND status = 'pending'",
                (destination,),
            ).fetchone()[0]
            return DeliveryStats(
                counts["pending"], counts["delivered"], counts["dead"], retries, oldest, _now()
            )

        return await self._core.read(query)
