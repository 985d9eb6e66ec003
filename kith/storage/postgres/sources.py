"""Event sources on PostgreSQL; every change is announced to the other processes."""

from __future__ import annotations

import asyncpg
import msgspec

from kith.domain.errors import Conflict
from kith.domain.source import Source
from kith.storage.cursor import decode_cursor, encode_cursor
from kith.storage.ports import Page
from kith.storage.postgres.core import PgCore, affected, notify

_decoder = msgspec.json.Decoder(Source)


class PgSources:
    def __init__(self, core: PgCore) -> None:
        self._core = core

    async def get(self, source_id: str) -> Source | None:
        doc = await self._core.pool.fetchval(
            "SELECT doc::text FROM sources WHERE id = $1", source_id
        )
        return _decoder.decode(doc) if doc is not None else None

    async def page(self, cursor: str | None, limit: int) -> Page[Source]:
        after = decode_cursor(cursor, 1)[0] if cursor else ""
        rows = await self._core.pool.fetch(
            "SELECT id, doc::text FROM sources WHERE id > $1 ORDER BY id LIMIT $2",
            after,
            limit + 1,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        items = [_decoder.decode(row[1]) for row in rows]
        return Page(items, encode_cursor(rows[-1][0]) if more else None)

    async def insert(self, source: Source) -> None:
        doc = msgspec.to_builtins(source)

        async def work(conn: asyncpg.Connection) -> None:
            try:
                await conn.execute("INSERT INTO sources (id, doc) VALUES ($1, $2)", source.id, doc)
            except asyncpg.UniqueViolationError:
                raise Conflict(f"Source {source.id!r} already exists") from None
            await notify(conn, "source", source.id)

        await self._core.writer.submit(work)

    async def replace(self, source: Source) -> bool:
        doc = msgspec.to_builtins(source)

        async def work(conn: asyncpg.Connection) -> bool:
            status = await conn.execute("UPDATE sources SET doc = $1 WHERE id = $2", doc, source.id)
            await notify(conn, "source", source.id)
            return affected(status) > 0

        return bool(await self._core.writer.submit(work))

    async def delete(self, source_id: str) -> bool:
        async def work(conn: asyncpg.Connection) -> bool:
            status = await conn.execute("DELETE FROM sources WHERE id = $1", source_id)
            await notify(conn, "source", source_id)
            return affected(status) > 0

        return bool(await self._core.writer.submit(work))
