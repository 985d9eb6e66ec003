"""What the rest of Kith may ask of storage. Engines implement `Storage`."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, Protocol, TypeVar

from kith.domain.apikey import ApiKey
from kith.domain.source import Source

Document = dict[str, Any]
CONFIG_KINDS = ("event-type", "consent-type", "setting")
"""The kinds of configuration documents (`get_config` ...): event types, consent
types, settings."""
T = TypeVar("T")


@dataclass(slots=True)
class VisitUnit:
    """Everything one collector request changes; committed atomically or not at all."""

    profile: Document | None = None
    session: Document | None = None
    events: list[Document] = field(default_factory=list)
    identities: list[tuple[str, str, str]] = field(default_factory=list)
    """(kind, value, profile id) rows of the identity index to upsert."""
    merged: list[str] = field(default_factory=list)
    """Ids of profiles merged into `profile` by this unit: they are deleted, and their
    identity entries, sessions and events move to `profile`."""


@dataclass(slots=True)
class Page(Generic[T]):
    items: list[T]
    next: str | None


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


# data API ----------------------------------------------------------------------------
StatsInterval = Literal["minute", "hour", "day"]
StatsBy = Literal["type", "source", "channel"]
DataTable = Literal["profiles", "sessions", "events"]


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


@dataclass(slots=True, frozen=True)
class Erased:
    """What erasing a person deleted, row counts per kind."""

    profiles: int
    ids: int
    sessions: int
    events: int
    identities: int


@dataclass(slots=True, frozen=True)
class WriterStats:
    units: int
    commits: int
    queued: int


class Locks(Protocol):
    def hold(self, scope: str, key: str) -> AbstractAsyncContextManager[None]: ...


class Storage(Protocol):
    @property
    def kind(self) -> Literal["sqlite", "postgresql"]: ...
    @property
    def locks(self) -> Locks: ...

    async def start(self) -> None: ...
    async def close(self) -> None: ...
    def subscribe(self, listener: Callable[[str, str], None]) -> None:
        """Call `listener(kind, key)` when another process changes configuration."""
        ...

    def writer_stats(self) -> WriterStats: ...

    # tracking: point reads on the hot path, and the one write per request
    async def get_session(self, session_id: str) -> Document | None: ...
    async def get_profile(self, profile_id: str) -> Document | None: ...
    async def resolve_profile_id(self, any_id: str) -> str | None: ...
    async def existing_event_ids(self, event_ids: list[str]) -> set[str]: ...
    async def commit_visit(self, unit: VisitUnit) -> None: ...
    async def identity_page(
        self, after: tuple[str, str] | None, limit: int
    ) -> list[tuple[str, str, str]]:
        """(kind, value, profile id) rows of the identity index in key order, for copying."""
        ...

    async def identity_owners(
        self, entries: list[tuple[str, str]]
    ) -> dict[tuple[str, str], str]: ...

    # data reads
    async def get_event(self, event_id: str) -> Document | None: ...
    async def list_events(
        self, where: EventFilter, cursor: str | None, limit: int
    ) -> Page[Document]: ...

    # sources
    async def get_source(self, source_id: str) -> Source | None: ...
    async def list_sources(self, cursor: str | None, limit: int) -> Page[Source]: ...
    async def insert_source(self, source: Source) -> None: ...
    async def replace_source(self, source: Source) -> bool: ...
    async def delete_source(self, source_id: str) -> bool: ...

    # configuration documents (event types, consent types, settings), by kind and id
    async def get_config(self, kind: str, key: str) -> Document | None: ...
    async def list_config(self, kind: str) -> list[Document]: ...
    async def put_config(self, kind: str, key: str, document: Document) -> None: ...
    async def delete_config(self, kind: str, key: str) -> bool: ...

    # API keys
    async def get_key(self, key_id: str) -> ApiKey | None: ...
    async def list_keys(self) -> list[ApiKey]: ...
    async def insert_key(self, key: ApiKey) -> None: ...
    async def delete_key(self, key_id: str) -> bool: ...
    async def has_admin_key(self) -> bool: ...

    # data API: search, timelines, stats, erase, bulk export --------------------------
    async def search_profiles(
        self, where: ProfileQuery, cursor: str | None, limit: int
    ) -> Page[Document]: ...
    async def list_sessions(
        self, where: SessionFilter, cursor: str | None, limit: int
    ) -> Page[Document]: ...
    async def event_stats(
        self, interval: StatsInterval, from_: datetime, to: datetime, by: StatsBy | None
    ) -> Document: ...
    async def erase_profile(self, profile_id: str) -> Erased | None: ...
    async def export_page(
        self,
        table: DataTable,
        from_: datetime | None,
        to: datetime | None,
        cursor: str | None,
        limit: int,
    ) -> Page[Document]: ...
    async def count_rows(
        self, table: DataTable, from_: datetime | None, to: datetime | None
    ) -> int: ...
