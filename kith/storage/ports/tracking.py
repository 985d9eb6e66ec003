"""The collector's port: point reads on the hot path, the locks, and the one
write per request (the unit of work)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Protocol

from kith.storage.ports.common import Document
from kith.storage.ports.deliveries import Delivery


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
    deliveries: list[Delivery] = field(default_factory=list)
    """Deliveries to destinations that this unit's events or profile change cause,
    queued in the same commit (see `kith.destinations`)."""


@dataclass(slots=True, frozen=True)
class WriterStats:
    units: int
    commits: int
    queued: int


class Locks(Protocol):
    def hold(self, scope: str, key: str) -> AbstractAsyncContextManager[None]: ...


class TrackingStore(Protocol):
    async def get_session(self, session_id: str) -> Document | None: ...
    async def get_profile(self, profile_id: str) -> Document | None: ...
    async def resolve_profile_id(self, any_id: str) -> str | None: ...
    async def existing_event_ids(self, event_ids: list[str]) -> set[str]: ...
    async def commit_visit(self, unit: VisitUnit) -> None: ...
    async def identity_owners(
        self, entries: list[tuple[str, str]]
    ) -> dict[tuple[str, str], str]: ...
    async def identity_page(
        self, after: tuple[str, str] | None, limit: int
    ) -> list[tuple[str, str, str]]:
        """(kind, value, profile id) rows of the identity index in key order, for copying."""
        ...
