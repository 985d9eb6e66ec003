"""The ingest log on PostgreSQL: read in (txid, seq) order behind the oldest running
transaction, like the feed (see `feed`), so a late commit is never skipped."""

from __future__ import annotations

from kith.storage.ports import INGEST_CONSUMER, Document, FeedPosition
from kith.storage.postgres.core import PgCore
from kith.storage.postgres.writer import Bulk, Statements

_APPEND = "INSERT INTO ingest (doc) VALUES ($1)"
INGEST_BULK = {
    _APPEND: Bulk(
        "INSERT INTO ingest (doc) SELECT doc FROM unnest({0}::jsonb[]) WITH ORDINALITY"
        " AS r(doc, n) ORDER BY n"
    )
}
"""The append's set form (see `writer.Bulk`): entries keep their order in `seq`."""
_HORIZON = "pg_snapshot_xmin(pg_current_snapshot())"


class PgIngest:
    def __init__(self, core: PgCore) -> None:
        self._core = core

    async def append(self, entries: list[Document]) -> None:
        await self._core.writer.submit(Statements([(_APPEND, [(entry,) for entry in entries])]))

    async def read(self, after: FeedPosition, limit: int) -> list[tuple[FeedPosition, Document]]:
        rows = await self._core.pool.fetch(
            "SELECT txid::text::bigint, seq, doc FROM ingest"
            f" WHERE (txid, seq) > ($1::text::xid8, $2) AND txid < {_HORIZON}"
            " ORDER BY txid, seq LIMIT $3",
            str(after.txid),
            after.seq,
            limit,
        )
        return [(FeedPosition(int(r[0]), int(r[1])), r[2]) for r in rows]

    async def trim(self, through: FeedPosition) -> None:
        await self._core.pool.execute(
            "DELETE FROM ingest WHERE (txid, seq) <= ($1::text::xid8, $2)",
            str(through.txid),
            through.seq,
        )

    async def backlog(self) -> int:
        """Payloads after the processor's acknowledged position (processed ones wait
        for the next read to be trimmed)."""
        return int(
            await self._core.pool.fetchval(
                "SELECT count(*) FROM ingest i WHERE NOT EXISTS (SELECT 1 FROM feed_consumers c"
                " WHERE c.name = $1 AND (i.txid, i.seq) <= (c.txid::text::xid8, c.seq))",
                INGEST_CONSUMER,
            )
        )
