"""Walking every profile on the embedded engine."""

from __future__ import annotations

import sqlite3

import orjson

from kith.storage.ports import Document
from kith.storage.sqlite.core import SQLiteCore


class SQLiteProfiles:
    def __init__(self, core: SQLiteCore) -> None:
        self._core = core

    async def page(self, after: str, limit: int) -> list[Document]:
        def query(conn: sqlite3.Connection) -> list[tuple[str]]:
            return conn.execute(
                "SELECT doc FROM profiles WHERE id > ? ORDER BY id LIMIT ?", (after, limit)
            ).fetchall()

        return [orjson.loads(row[0]) for row in await self._core.read(query)]

    async def count(self) -> int:
        return await self._core.read(
            lambda conn: int(conn.execute("SELECT count(*) FROM profiles").fetchone()[0])
        )

    async def in_segment(self, segment_id: str) -> int:
        def query(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT count(*) FROM profiles WHERE EXISTS (SELECT 1 FROM"
                " json_each(doc, '$.segments') WHERE value = ?)",
                (segment_id,),
            ).fetchone()
            return int(row[0])

        return await self._core.read(query)
