"""The collector's port: point reads on the hot path, the locks, and the one
write per request (the unit of work)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from kith.storage.ports.common import Document
from kith.storage.ports.deliveries import Delivery


class IdentityRow(NamedTuple):
    """One entry of the identity index: a key value or an id, and who owns it."""

    kind: str
    """`id` for profile ids, else the merge key's dotted path."""
    value: str
    profile_id: str
    claimed: str | None = None
    """When the entry was first claimed (ISO time); None for entries from before it
    was recorded. A merge moves an entry to the survivor and keeps this."""
    event: str | None = None
    """The event whose data claimed it; None for ids and entries without one."""


@dataclass(slots=True)
class VisitUnit:
    """Everything one collector request changes; committed atomically or not at all."""

    profile: Document | None = None
    session: Document | None = None
    events: list[Document] = field(default_factory=list)
    identities: list[IdentityRow] = field(default_factory=list)
    """Rows of the identity index to upsert; an entry already there keeps its
    `claimed` and `event` and only changes owner."""
    merged: list[str] = field(default_factory=list)
    """Ids of profiles merged into `profile` by this unit: they are deleted, and their
    identity entries, sessions and events move to `profile`."""
    deliveries: list[Delivery] = field(default_factory=list)
    """Deliveries to destinations that this unit's events or profile change cause,
    queued in the same commit (see `kith.destinations`)."""
    new_session: bool = False
    """The session did not exist when the request looked: it is inserted, never
    written over. If another request stored it meanwhile, `commit_visit` raises
    `SessionTaken` and stores nothing of the unit (the request starts again under
    the session lock). What lets a first hit skip the lock: see `tracking.track`."""


class SessionTaken(Exception):
    """A unit's new session was stored by another request first; nothing was stored."""


@dataclass(slots=True, frozen=True)
class VisitLookup:
    """A request's first look at the store, in one read and without locks."""

    session: Document | None
    profile_id: str | None
    """What the payload's profile id resolves to (None: unknown, or none given)."""
    known_events: set[str]
    """Those of the payload's client event ids already stored."""


@dataclass(slots=True, frozen=True)
class WriterStats:
    units: int
    commits: int
    queued: int


class Locks(Protocol):
    def hold(self, scope: str, key: str) -> AbstractAsyncContextManager[None]: ...


class TrackingStore(Protocol):
    async def look_up_visit(
        self, session_id: str, profile_id: str | None, event_ids: list[str]
    ) -> VisitLookup:
        """The session, the payload's profile id resolved, the event ids already
        stored: what a request needs to know first, in one round trip on PostgreSQL."""
        ...

    async def get_session(self, session_id: str) -> Document | None: ...
    async def get_profile(self, profile_id: str) -> Document | None: ...
    async def resolve_profile_id(self, any_id: str) -> str | None: ...
    async def existing_event_ids(self, event_ids: list[str]) -> set[str]: ...
    async def commit_visit(self, unit: VisitUnit) -> None: ...
    async def get_sessions(self, session_ids: list[str]) -> dict[str, Document]:
        """The sessions found among `session_ids`, by id: one read for a batch."""
        ...

    async def get_profiles(self, profile_ids: list[str]) -> dict[str, Document]:
        """The profiles found among `profile_ids`, by id: one read for a batch."""
        ...

    async def commit_visits(self, units: list[VisitUnit]) -> None:
        """Several units as one submission to the writer: committed together, in
        order, or not at all (a batch of unrelated payloads); `SessionTaken` when one
        unit's new session was stored by another request meanwhile (which one is
        not said: the caller starts them all again)."""
        ...

    async def identity_owners(
        self, entries: list[tuple[str, str]]
    ) -> dict[tuple[str, str], str]: ...
    async def identity_page(self, after: tuple[str, str] | None, limit: int) -> list[IdentityRow]:
        """Rows of the identity index in key order, for copying."""
        ...

    async def owned_keys(self, profile_ids: list[str]) -> dict[str, list[tuple[str, str]]]:
        """The merge-key entries (kind, value), not ids, that each profile owns."""
        ...

    async def profile_identities(
        self, profile_id: str, after: tuple[str, str] | None, limit: int
    ) -> list[IdentityRow]:
        """Everything in the index that resolves to the profile, ids too, in key order."""
        ...
