"""What one attempt at a payload produces: its unit of work and its answer.

Shared by the pipeline (`track`) and the identity step (`identity_claims`), which
turns a plan into a merge when the profile claims a key another profile owns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kith.domain.ids import new_id
from kith.identity.rules import IdentityRules
from kith.storage.ports import Document, VisitUnit


@dataclass(slots=True)
class TrackResult:
    profile_id: str | None
    session_id: str | None
    event_ids: list[str]
    errors: list[Any] = field(default_factory=list)
    warnings: list[Any] = field(default_factory=list)

    def response(self) -> Document:
        return {
            "task": new_id(),
            "profile": {"id": self.profile_id},
            "session": {"id": self.session_id},
            "events": self.event_ids,
            "ux": [],
            "response": {},
            "errors": self.errors,
            "warnings": self.warnings,
        }


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
