"""Rules: which events start which flows.

`{"id", "name", "enabled", "event_type", "source", "flow", "condition"}`:
`event_type` and `source` null match any; system events have the source
`@internal`, so only rules with `source: null` see them. A rule's condition
reads `event@`, `profile@` and `session@`. Rules run in the order of their ids."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kith.conditions import Condition, compile_condition
from kith.domain.document import Document
from kith.domain.source import INTERNAL_SOURCE_ID
from kith.workflows.graph import CompiledFlow

SEGMENT_EVENTS = frozenset({"segment-entered", "segment-left"})
"""Flows these start always run after the commit, as async flows."""


@dataclass(slots=True, frozen=True)
class Rule:
    id: str
    name: str
    enabled: bool
    event_type: str | None
    source: str | None
    flow: str
    condition: Condition | None

    @classmethod
    def of(cls, document: Document) -> Rule:
        text = document.get("condition")
        return cls(
            id=str(document["id"]),
            name=str(document.get("name") or ""),
            enabled=bool(document.get("enabled", True)),
            event_type=document.get("event_type"),
            source=document.get("source"),
            flow=str(document["flow"]),
            condition=compile_condition(text) if text else None,
        )

    def matches(self, event: Document) -> bool:
        """Type and source only; the condition needs the profile (`accepts`)."""
        if self.event_type is not None and event.get("type") != self.event_type:
            return False
        source = (event.get("source") or {}).get("id")
        if self.source is None:
            return True
        return source == self.source and source != INTERNAL_SOURCE_ID

    def accepts(self, scope: Mapping[str, Any], now: datetime) -> bool:
        return self.condition is None or self.condition.evaluate(scope, now=now)


@dataclass(slots=True)
class RuleBook:
    """The enabled rules whose flow is deployed, indexed by event type."""

    by_type: dict[str | None, list[tuple[Rule, CompiledFlow]]]

    @classmethod
    def of(cls, rules: list[Rule], flows: Mapping[str, CompiledFlow]) -> RuleBook:
        by_type: dict[str | None, list[tuple[Rule, CompiledFlow]]] = {}
        for rule in sorted(rules, key=lambda r: r.id):
            flow = flows.get(rule.flow)
            if rule.enabled and flow is not None:
                by_type.setdefault(rule.event_type, []).append((rule, flow))
        return cls(by_type)

    def __bool__(self) -> bool:
        return bool(self.by_type)

    @property
    def acts_after_commit(self) -> bool:
        """Some committed event could start a flow from the feed: an async flow, or a
        rule a segment event matches (of any type, or of a segment event's type)."""
        for event_type, pairs in self.by_type.items():
            if event_type is None or event_type in SEGMENT_EVENTS:
                return True
            if any(flow.mode == "async" for _, flow in pairs):
                return True
        return False

    @property
    def has_sync(self) -> bool:
        """Some rule runs a sync flow (inside requests)."""
        return any(flow.mode == "sync" for pairs in self.by_type.values() for _, flow in pairs)

    def candidates(self, event: Document) -> list[tuple[Rule, CompiledFlow]]:
        """Rules of the event's type or of any type, by id, whose source matches."""
        typed = self.by_type.get(event.get("type"), [])
        wildcard = self.by_type.get(None, [])
        found = [pair for pair in (*typed, *wildcard) if pair[0].matches(event)]
        if typed and wildcard:
            found.sort(key=lambda pair: pair[0].id)
        return found

    def sync(self, event: Document) -> list[tuple[Rule, CompiledFlow]]:
        """What runs inside the request for this event."""
        if event.get("type") in SEGMENT_EVENTS:
            return []
        return [pair for pair in self.candidates(event) if pair[1].mode == "sync"]

    def after_commit(self, event: Document) -> list[tuple[Rule, CompiledFlow]]:
        """What runs from the feed for this event: async flows, and every flow that a
        segment event starts."""
        if event.get("type") in SEGMENT_EVENTS:
            return self.candidates(event)
        return [pair for pair in self.candidates(event) if pair[1].mode == "async"]
