"""Walking every profile on PostgreSQL."""

from __future__ import annotations

from kith.storage.ports import Document
from kith.storage.postgres.core import PgCore


class PgProfiles:
    def __init__(self, core: PgCore) -> None:
        self._core = core

    async def page(self, after: str, limit: int) -> list[Document]:
        rows = await self._core.pool.fetch(
            "SELECT doc FROM profiles WHERE id > $1 ORDER BY id LIMIT $2", after, limit
        )
        return [row[0] for row in rows]

    async def count(self) -> int:
        return int(await self._core.pool.fetchval("SELECT count(*) FROM profiles"))

    async def in_segment(self, segment_id: str) -> int:
        return int(
            await self._core.pool.fetchval(
                "SELECT count(*) FROM profiles WHERE (doc -> 'segments') ? $1", segment_id
            )
        )
