"""The data API's reads: one record, searches, timelines and event counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from kith.storage.ports.common import Document, Page

StatsInterval = Literal["minute", "hour", "day"]
StatsBy = Literal["type", "source", "channel"]


@dataclass(slots=True, frozen=True)
class EventFilter:
    profile: str | None = None
    session: str | None = None
    type: str | None = None
    source: str | None = None
    from_: datetime | None = None
    to: datetime | None = None
    status: str | None = None
    tag: str | None = None


@dataclass(slots=True, frozen=True)
class ProfileQuery:
    """`q` matches ids, e-mail, phone, names and trait values; times are [from, to)."""

    q: str | None = None
    segment: str | None = None
    updated_from: datetime | None = None
    updated_to: datetime | None = None
    visited_from: datetime | None = None
    visited_to: datetime | None = None


@dataclass(slots=True, frozen=True)
class SessionFilter:
    profile: str | None = None
    from_: datetime | None = None
    to: datetime | None = None
    device: str | None = None
    """The browser's device id (`device.id` of the payload)."""


class DataReads(Protocol):
    async def get_event(self, event_id: str) -> Document | None: ...
    async def list_events(
        self, where: EventFilter, cursor: str | None, limit: int
    ) -> Page[Document]: ...
    async def search_profiles(
        self, where: ProfileQuery, cursor: str | None, limit: int
    ) -> Page[Document]: ...
    async def list_sessions(
        self, where: SessionFilter, cursor: str | None, limit: int
    ) -> Page[Document]: ...
    async def event_stats(
        self, interval: StatsInterval, from_: datetime, to: datetime, by: StatsBy | None
    ) -> Document: ...
