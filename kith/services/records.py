"""Reading stored events and sessions: one by id, filtered lists, counts per bucket."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from kith.domain.errors import NotFound
from kith.storage.ports import (
    Document,
    EventFilter,
    Page,
    SessionFilter,
    StatsBy,
    StatsInterval,
    Storage,
)


class RecordService:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def _profile(self, any_id: str | None) -> str | None:
        if any_id is None:
            return None
        key = any_id.strip()
        return await self._storage.tracking.resolve_profile_id(key) or key

    async def event(self, event_id: str) -> Document:
        event = await self._storage.data.get_event(event_id.strip())
        if event is None:
            raise NotFound(f"Event {event_id!r} not found")
        return event

    async def events(self, where: EventFilter, cursor: str | None, limit: int) -> Page[Document]:
        """`where.profile` may be any id of the person (merged ids resolve)."""
        where = replace(where, profile=await self._profile(where.profile))
        return await self._storage.data.list_events(where, cursor, limit)

    async def event_stats(
        self, interval: StatsInterval, from_: datetime, to: datetime, by: StatsBy | None
    ) -> Document:
        return await self._storage.data.event_stats(interval, from_, to, by)

    async def session(self, session_id: str) -> Document:
        session = await self._storage.tracking.get_session(session_id.strip())
        if session is None:
            raise NotFound(f"Session {session_id!r} not found")
        return session

    async def sessions(
        self, where: SessionFilter, cursor: str | None, limit: int
    ) -> Page[Document]:
        where = replace(where, profile=await self._profile(where.profile))
        return await self._storage.data.list_sessions(where, cursor, limit)
