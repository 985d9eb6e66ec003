"""Erasing a person and bulk export on the embedded engine."""

from __future__ import annotations

import asyncio
from datetime import datetime

from kith.storage.cursor import decode_cursor
from kith.storage.ports import DataTable, Document, Erased, Page
from kith.storage.sqlite import data_queries
from kith.storage.sqlite.core import SQLiteCore, connect, page_of


class SQLiteErasure:
    def __init__(self, core: SQLiteCore) -> None:
        self._core = core

    async def erase_profile(self, profile_id: str) -> Erased | None:
        counts = await self._core.writer.submit(
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
        conn = connect(self._core.path, synchronous=self._core.synchronous)
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
        rows = await self._core.read(
            lambda conn: data_queries.export_rows(conn, table, from_, to, after, limit + 1)
        )
        return page_of(rows, limit)

    async def count_rows(
        self, table: DataTable, from_: datetime | None, to: datetime | None
    ) -> int:
        return await self._core.read(lambda conn: data_queries.count_rows(conn, table, from_, to))
