"""The data API's reads on the embedded engine (queries in `data_queries`)."""

from __future__ import annotations

import sqlite3
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
from kith.storage.sqlite import data_queries
from kith.storage.sqlite.core import Row, SQLiteCore, page_of


class SQLiteData:
    def __init__(self, core: SQLiteCore) -> None:
        self._core = core

    async def get_event(self, event_id: str) -> Document | None:
        return self._core.doc("SELECT doc FROM events WHERE id = ?", event_id)

    async def list_events(
        self, where: EventFilter, cursor: str | None, limit: int
    ) -> Page[Document]:
        after = decode_cursor(cursor, 2) if cursor else None
        rows = await self._core.read(
            lambda conn: data_queries.list_events(conn, where, after, limit + 1)
        )
        return page_of(rows, limit)

    async def search_profiles(
        self, where: ProfileQuery, cursor: str | None, limit: int
    ) -> Page[Document]:
        after = decode_cursor(cursor, 2) if cursor else None

        def query(conn: sqlite3.Connection) -> list[Row]:
            exact = data_queries.identity_matches(conn, where.q) if where.q else None
            return data_queries.list_profiles(conn, where, after, limit + 1, exact or None)

        return page_of(await self._core.read(query), limit)

    async def list_sessions(
        self, where: SessionFilter, cursor: str | None, limit: int
    ) -> Page[Document]:
        after = decode_cursor(cursor, 2) if cursor else None
        rows = await self._core.read(
            lambda conn: data_queries.list_sessions(conn, where, after, limit + 1)
        )
        return page_of(rows, limit)

    async def event_stats(
        self, interval: StatsInterval, from_: datetime, to: datetime, by: StatsBy | None
    ) -> Document:
        return await self._core.read(
            lambda conn: data_queries.event_stats(conn, interval, from_, to, by)
        )
