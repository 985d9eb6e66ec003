"""The data API's reads on PostgreSQL (queries in `data_queries`)."""

from __future__ import annotations

from datetime import datetime

from kith.storage.cursor import decode_cursor
from kith.storage.ports import (
    Document,
    EventFilter,
    Page,
    ProfileQuery,
    SessionFilter,
    StatsBy,
    StatsInterval,
)
from kith.storage.postgres import data_queries
from kith.storage.postgres.core import PgCore, page_of


class PgData:
    def __init__(self, core: PgCore) -> None:
        self._core = core

    async def get_event(self, event_id: str) -> Document | None:
        doc: Document | None = await self._core.pool.fetchval(
            "SELECT doc FROM events WHERE id = $1 LIMIT 1", event_id
        )
        return doc

    async def list_events(
        self, where: EventFilter, cursor: str | None, limit: int
    ) -> Page[Document]:
        after = decode_cursor(cursor, 2) if cursor else None
        rows = await data_queries.list_events(self._core.pool, where, after, limit + 1)
        return page_of(rows, limit)

    async def search_profiles(
        self, where: ProfileQuery, cursor: str | None, limit: int
    ) -> Page[Document]:
        after = decode_cursor(cursor, 2) if cursor else None
        rows = await data_queries.list_profiles(self._core.pool, where, after, limit + 1)
        return page_of(rows, limit)

    async def list_sessions(
        self, where: SessionFilter, cursor: str | None, limit: int
    ) -> Page[Document]:
        after = decode_cursor(cursor, 2) if cursor else None
        rows = await data_queries.list_sessions(self._core.pool, where, after, limit + 1)
        return page_of(rows, limit)

    async def event_stats(
        self, interval: StatsInterval, from_: datetime, to: datetime, by: StatsBy | None
    ) -> Document:
        stats: Document = await data_queries.event_stats(self._core.pool, interval, from_, to, by)
        return stats
