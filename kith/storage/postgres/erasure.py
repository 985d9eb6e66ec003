"""Erasing a person and bulk export on PostgreSQL."""

from __future__ import annotations

from datetime import datetime

from kith.storage.cursor import decode_cursor
from kith.storage.ports import DataTable, Document, Erased, Page
from kith.storage.postgres import data_queries
from kith.storage.postgres.core import PgCore, page_of


class PgErasure:
    def __init__(self, core: PgCore) -> None:
        self._core = core

    async def erase_profile(self, profile_id: str) -> Erased | None:
        counts = await self._core.writer.submit(
            lambda conn: data_queries.erase_profile(conn, profile_id)
        )
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
        rows = await data_queries.export_rows(self._core.pool, table, from_, to, after, limit + 1)
        return page_of(rows, limit)

    async def count_rows(
        self, table: DataTable, from_: datetime | None, to: datetime | None
    ) -> int:
        return int(await data_queries.count_rows(self._core.pool, table, from_, to))
