"""Event sources on the embedded engine."""

from __future__ import annotations

import sqlite3

import msgspec

from kith.domain.errors import Conflict
from kith.domain.source import Source
from kith.storage.cursor import decode_cursor, encode_cursor
from kith.storage.ports import Page
from kith.storage.sqlite.core import SQLiteCore

_decoder = msgspec.json.Decoder(Source)


class SQLiteSources:
    def __init__(self, core: SQLiteCore) -> None:
        self._core = core

    async def get(self, source_id: str) -> Source | None:
        row = self._core.hot.execute(
            "SELECT doc FROM sources WHERE id = ?", (source_id,)
        ).fetchone()
        return _decoder.decode(row[0]) if row else None

    async def page(self, cursor: str | None, limit: int) -> Page[Source]:
        after = decode_cursor(cursor, 1)[0] if cursor else ""

        def query(conn: sqlite3.Connection) -> list[tuple[str, str]]:
            return conn.execute(
                "SELECT id, doc FROM sources WHERE id > ? ORDER BY id LIMIT ?", (after, limit + 1)
            ).fetchall()

        rows = await self._core.read(query)
        more = len(rows) > limit
        rows = rows[:limit]
        items = [_decoder.decode(row[1]) for row in rows]
        return Page(items, encode_cursor(rows[-1][0]) if more else None)

    async def insert(self, source: Source) -> None:
        doc = msgspec.json.encode(source).decode()

        def work(conn: sqlite3.Connection) -> None:
            try:
                conn.execute("INSERT INTO sources (id, doc) VALUES (?, ?)", (source.id, doc))
            except sqlite3.IntegrityError:
                raise Conflict(f"Source {source.id!r} already exists") from None

        await self._core.writer.submit(work)

    async def replace(self, source: Source) -> bool:
        doc = msgspec.json.encode(source).decode()
        return await self._core.writer.submit(
            lambda conn: (
                conn.execute("UPDATE sources SET doc = ? WHERE id = ?", (doc, source.id)).rowcount
                > 0
            )
        )

    async def delete(self, source_id: str) -> bool:
        return await self._core.writer.submit(
            lambda conn: conn.execute("DELETE FROM sources WHERE id = ?", (source_id,)).rowcount > 0
        )
