"""What one attempt at a payload produces: its unit of work and its answer.

Shared by the pipeline (`track`) and the identity step (`identity_claims`), which
turns a plan into a merge when the profile claims a key another profile owns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from kith.domain.ids import new_id
from kith.domain.source import Source
from kith.identity.rules import IdentityRules
from kith.storage.ports import Document, VisitUnit


@dataclass(slots=True)
class TrackResult:
    profile_id: str | None
    session_id: str | None
    event_ids: list[str]
    errors: list[Any] = field(default_factory=list)
    warnings: list[Any] = field(default_factory=list)
    ux: list[Document] = field(default_factory=list)
    answer: Document = field(default_factory=dict)
    """The answer's `response`: values set by sync flows."""
    profile_document: Document | None = None
    """The whole profile, when the payload asked for it (`options.profile: true`)."""

    def response(self) -> Document:
        return {
            "task": new_id(),
            "profile": self.profile_document or {"id": self.profile_id},
            "session": {"id": self.session_id},
            "events": self.event_ids,
            "ux": self.ux,
            "response": self.answer,
            "errors": self.errors,
            "warnings": self.warnings,
        }


class SourceLookup(Protocol):
    """How the pipeline finds a source: from a cache (`services.sources.SourceRegistry`)."""

    async def cached(self, source_id: str) -> Source | None: ...


@dataclass(slots=True)
class Visit:
    """What the steps after the event types (sync flows, live segments, deliveries) see
    of a request, and may change: the records to store (system events first), the
    profile and session (None when not saved), the unit of work and the answer."""

    records: list[tuple[int | None, Document]]
    profile: Document | None
    session: Document | None
    unit: VisitUnit
    result: TrackResult
    now: str
    request: Document
    profile_less: bool
    stores_events: bool
    segments_before: list[str] = field(default_factory=list)
    """The profile's segments as it was loaded, before this request changed it."""

    def add_event(self, record: Document) -> None:
        """Store a system event made by a step with the request's events."""
        self.records.append((None, record))


class VisitStep(Protocol):
    """A step of the pipeline after the event types; see `Visit`."""

    async def after_events(self, visit: Visit) -> None: ...


@runtime_checkable
class OnceOnly(Protocol):
    """A step that may have effects outside the unit of work (sync flows calling other
    systems): while `repeatable()` is False, no visit is built twice on purpose, so
    batches are not processed as one group."""

    async def repeatable(self) -> bool: ...


class MergeStep(Protocol):
    """Told about a merge while its plan can still change: `profiles` are the inputs as
    they were, `plan.unit.profile` the merged survivor (segments, computed traits)."""

    async def after_merge(self, plan: Plan, profiles: list[Document]) -> None: ...


@dataclass(slots=True)
class Plan:
    """One attempt's unit of work, before identity claims are settled."""

    unit: VisitUnit
    result: TrackResult
    profile: Document | None
    claims: list[tuple[str, str]]
    """Identity-index entries the profile gained in this request: (kind, value)."""
    now: str
    request: Document
    store: bool
    save_events: bool
    rules: IdentityRules
    """The identity rules this attempt was built with."""
    blocked: list[str] = field(default_factory=list)
    """Keys that gained a blocked value in this request: they claim nothing."""
