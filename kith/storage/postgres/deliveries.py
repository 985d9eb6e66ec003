"""The delivery queue on PostgreSQL: claimed across processes with `FOR UPDATE SKIP
LOCKED`, so two processes never take one attempt; times by the database's clock."""

from __future__ import annotations

from typing import Any

import asyncpg

from kith.storage.cursor import decode_cursor, encode_cursor
from kith.storage.ports import Delivery, DeliveryStats, DeliveryStatus, Outcome, Page
from kith.storage.postgres.core import PgCore, affected
from kith.storage.rows import delivery_row

NOW = "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint"
INSERT_DELIVERY = (
    "INSERT INTO deliveries (id, destination, status, event_id, profile_id, debounce, body,"
    f" created, next_attempt, expires) VALUES ($1, $2, 'pending', $3, $4, $5, $6, {NOW},"
    f" {NOW} + $7::bigint, {NOW} + $8::bigint)"
    " ON CONFLICT (destination, debounce) WHERE debounce IS NOT NULL DO NOTHING"
)
_COLUMNS = (
    "id, destination, event_id, profile_id, body, debounce, status, attempts, last_status,"
    " last_error, created, next_attempt, expires, finished"
)
_SETTLE = (
    "UPDATE deliveries d SET status = o.status, last_status = o.last_status,"
    f" last_error = o.last_error, next_attempt = {NOW} + o.retry,"
    f" finished = CASE WHEN o.status = 'pending' THEN NULL ELSE {NOW} END, owner = NULL,"
    " attempts = d.attempts - o.uncounted"
    " FROM unnest($1::text[], $2::text[], $3::text[], $4::integer[], $5::text[],"
    " $6::bigint[], $7::integer[]) AS o(id, owner, status, last_status, last_error, retry,"
    " uncounted) WHERE d.id = o.id AND d.owner = o.owner"
)


def _delivery(row: asyncpg.Record) -> Delivery:
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


class PgDeliveries:
    def __init__(self, core: PgCore) -> None:
        self._core = core

    async def add(self, deliveries: list[Delivery]) -> None:
        if deliveries:
            await self._core.pool.executemany(
                INSERT_DELIVERY, [delivery_row(d) for d in deliveries]
            )

    async def claim(self, destination: str, owner: str, limit: int, lease: float) -> list[Delivery]:
        rows = await self._core.pool.fetch(
            f"UPDATE deliveries SET owner = $2, next_attempt = {NOW} + $4::bigint,"
            " attempts = attempts + 1, debounce = NULL"
            " WHERE id IN (SELECT id FROM deliveries WHERE destination = $1"
            f" AND status = 'pending' AND next_attempt <= {NOW} ORDER BY next_attempt"
            " LIMIT $3 FOR UPDATE SKIP LOCKED)"
            f" RETURNING {_COLUMNS}",
            destination,
            owner,
            limit,
            int(lease * 1_000_000),
        )
        found = [_delivery(row) for row in rows]
        found.sort(key=lambda d: d.created)
        return found

    async def settle(self, outcomes: list[Outcome]) -> int:
        if not outcomes:
            return 0
        status = await self._core.pool.execute(
            _SETTLE,
            [o.id for o in outcomes],
            [o.owner for o in outcomes],
            [o.status for o in outcomes],
            [o.last_status for o in outcomes],
            [o.last_error for o in outcomes],
            [int(o.retry_in * 1_000_000) for o in outcomes],
            [0 if o.counted else 1 for o in outcomes],
        )
        return affected(status)

    async def page(
        self, destination: str, status: DeliveryStatus | None, cursor: str | None, limit: int
    ) -> Page[Delivery]:
        after = decode_cursor(cursor, 2) if cursor else None
        clauses: list[str] = ["destination = $1"]
        args: list[Any] = [destination]
        if status is not None:
            args.append(status)
            clauses.append(f"status = ${len(args)}")
        if after is not None:
            args += [int(after[0]), str(after[1])]
            clauses.append(f"(created, id) < (${len(args) - 1}::bigint, ${len(args)})")
        args.append(limit + 1)
        rows = await self._core.pool.fetch(
            f"SELECT {_COLUMNS} FROM deliveries WHERE {' AND '.join(clauses)}"
            f" ORDER BY created DESC, id DESC LIMIT ${len(args)}",
            *args,
        )
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
        args: list[Any] = [destination, status, int(max_age * 1_000_000)]
        clauses = ["destination = $1", "status = $2"]
        if created_from is not None:
            args.append(created_from)
            clauses.append(f"created >= ${len(args)}::bigint")
        if created_to is not None:
            args.append(created_to)
            clauses.append(f"created <= ${len(args)}::bigint")
        status_line = await self._core.pool.execute(
            f"UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt = {NOW},"
            f" expires = {NOW} + $3::bigint, finished = NULL, owner = NULL"
            f" WHERE {' AND '.join(clauses)}",
            *args,
        )
        return affected(status_line)

    async def purge(self, destination: str) -> int:
        status = await self._core.pool.execute(
            "DELETE FROM deliveries WHERE destination = $1", destination
        )
        return affected(status)

    async def prune(self, finished_before_seconds: float, limit: int) -> int:
        status = await self._core.pool.execute(
            "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries"
            f" WHERE finished IS NOT NULL AND finished < {NOW} - $1::bigint LIMIT $2)",
            int(finished_before_seconds * 1_000_000),
            limit,
        )
        return affected(status)

    async def stats(self, destination: str) -> DeliveryStats:
        async with self._core.pool.acquire() as conn:
            counts = dict.fromkeys(("pending", "delivered", "dead"), 0)
            retries = 0
            for row in await conn.fetch(
                "SELECT status, count(*), sum(greatest(attempts - 1, 0)) FROM deliveries"
                " WHERE destination = $1 GROUP BY status",
                destination,
            ):
                counts[row[0]] = int(row[1])
                retries += int(row[2] or 0)
            oldest, now = await conn.fetchrow(
                f"SELECT min(created), {NOW} FROM deliveries"
                " WHERE destination = $1 AND status = 'pending'",
                destination,
            )
        return DeliveryStats(
            counts["pending"],
            counts["delivered"],
            counts["dead"],
            retries,
            int(oldest) if oldest is not None else None,
            int(now),
        )
