"""The committed-event feed on PostgreSQL.

`seq` is taken when a row is inserted, not when its transaction commits, so a
transaction that commits late can hold a smaller `seq` than rows already
visible. Each event also records the id of the transaction that wrote it
(`txid`, `pg_current_xact_id()`), and a read returns only rows whose transaction
is older than the oldest one still running (`pg_snapshot_xmin` of the current
snapshot): every such transaction has finished, so no row can ever appear
before a position a consumer has passed. The order is (txid, seq): per profile
it is commit order, because the profile lock makes a later request for the
person start its transaction after the earlier one committed.

Leases use the database's clock, so processes on machines with skewed clocks
agree on when one has expired."""

from __future__ import annotations

import asyncpg

from kith.storage.ports import FeedEntry, FeedPosition
from kith.storage.postgres.core import PgCore, affected

_HORIZON = "pg_snapshot_xmin(pg_current_snapshot())"
_NOW = "extract(epoch FROM clock_timestamp())"


class PgFeed:
    def __init__(self, core: PgCore) -> None:
        self._core = core

    async def read(self, after: FeedPosition, limit: int) -> list[FeedEntry]:
        rows = await self._core.pool.fetch(
            "SELECT txid::text::bigint, seq, doc FROM events"
            f" WHERE (txid, seq) > ($1::text::xid8, $2) AND txid < {_HORIZON}"
            " ORDER BY txid, seq LIMIT $3",
            str(after.txid),
            after.seq,
            limit,
        )
        return [FeedEntry(FeedPosition(int(r[0]), int(r[1])), r[2]) for r in rows]

    async def head(self) -> FeedPosition:
        async with self._core.pool.acquire() as conn:
            return await _head(conn)

    async def claim(
        self, consumer: str, owner: str, lease: float, start: FeedPosition | None = None
    ) -> FeedPosition | None:
        async with self._core.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                f"SELECT txid, seq, owner, lease_until > {_NOW} FROM feed_consumers"
                " WHERE name = $1 FOR UPDATE",
                consumer,
            )
            if row is None:
                head = start if start is not None else await _head(conn)
                inserted = await conn.execute(
                    "INSERT INTO feed_consumers (name, txid, seq, owner, lease_until)"
                    f" VALUES ($1, $2, $3, $4, {_NOW} + $5) ON CONFLICT (name) DO NOTHING",
                    consumer,
                    head.txid,
                    head.seq,
                    owner,
                    lease,
                )
                return head if affected(inserted) else None
            if row[2] not in (None, owner) and row[3]:
                return None
            await conn.execute(
                f"UPDATE feed_consumers SET owner = $2, lease_until = {_NOW} + $3 WHERE name = $1",
                consumer,
                owner,
                lease,
            )
            return FeedPosition(int(row[0]), int(row[1]))

    async def acknowledge(self, consumer: str, owner: str, position: FeedPosition) -> bool:
        status = await self._core.pool.execute(
            "UPDATE feed_consumers SET txid = $3, seq = $4 WHERE name = $1 AND owner = $2",
            consumer,
            owner,
            position.txid,
            position.seq,
        )
        return affected(status) > 0

    async def release(self, consumer: str, owner: str) -> None:
        await self._core.pool.execute(
            "UPDATE feed_consumers SET owner = NULL, lease_until = 0"
            " WHERE name = $1 AND owner = $2",
            consumer,
            owner,
        )

    async def positions(self) -> dict[str, FeedPosition]:
        rows = await self._core.pool.fetch("SELECT name, txid, seq FROM feed_consumers")
        return {str(r[0]): FeedPosition(int(r[1]), int(r[2])) for r in rows}


async def _head(conn: asyncpg.Connection) -> FeedPosition:
    """The last position a read can return now: the newest finished row."""
    row = await conn.fetchrow(
        "SELECT txid::text::bigint, seq FROM events"
        f" WHERE txid < {_HORIZON} ORDER BY txid DESC, seq DESC LIMIT 1"
    )
    return FeedPosition(int(row[0]), int(row[1])) if row else FeedPosition(0, 0)
