"""Destinations compiled for the hot path: which events and profile changes go where.

A destination document (API.md section 7) compiles once, when configuration
changes, into a `Route`: its event types and sources as sets, its condition
compiled, its kind instantiated (for building payloads, never for sending).
`Routing` indexes the enabled routes by event type, so a request with no
matching destination costs a dict lookup per event."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError

from kith.conditions import Condition, ConditionSyntaxError, compile_condition
from kith.destinations.kind import DestinationKind
from kith.destinations.registry import KindRegistry
from kith.domain.document import Document
from kith.notation.rendering import TemplateSyntaxError, compile_object_template

Problems = list[tuple[tuple[str | int, ...], str]]


class DestinationInvalid(ValueError):
    """A destination document that cannot run; `problems` are (location, message)."""

    def __init__(self, problems: Problems) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in problems))
        self.problems = problems


@dataclass(slots=True, frozen=True)
class DestinationDefaults:
    """What a destination that does not say gets (settings `KITH_DESTINATION_*`)."""

    max_age: float = 4 * 3600.0
    debounce: float = 2.0
    concurrency: int = 16


@dataclass(slots=True)
class Route:
    id: str
    enabled: bool
    on: str
    event_types: frozenset[str]
    sources: frozenset[str]
    condition: Condition | None
    kind: DestinationKind  # type: ignore[type-arg]
    max_age: float
    debounce: float
    concurrency: int
    document: Document = field(repr=False)

    def matches(self, event: Mapping[str, Any]) -> bool:
        """Type and source (empty: any); the condition needs the documents (`accepts`)."""
        if self.event_types and event.get("type") not in self.event_types:
            return False
        if not self.sources:
            return True
        return (event.get("source") or {}).get("id") in self.sources

    def accepts(self, scope: Mapping[str, Any]) -> bool:
        return self.condition is None or self.condition.evaluate(scope)

    def body(self, scope: Mapping[str, Any]) -> str:
        """The payload for these documents as the JSON text a delivery stores."""
        return orjson.dumps(self.kind.payload(scope), default=str).decode()


def compile_destination(
    document: Document, registry: KindRegistry, defaults: DestinationDefaults
) -> Route:
    """The route of a destination document; DestinationInvalid naming every problem."""
    problems: Problems = []
    kind_class = registry.get(str(document.get("kind")))
    if kind_class is None:
        known = ", ".join(registry.names())
        problems.append((("kind",), f"unknown kind {document.get('kind')!r} (known: {known})"))
    condition = None
    if document.get("condition"):
        try:
            condition = compile_condition(str(document["condition"]))
        except ConditionSyntaxError as error:
            problems.append((("condition",), str(error)))
    mapping = None
    if document.get("mapping") is not None:
        try:
            mapping = compile_object_template(document["mapping"])
        except TemplateSyntaxError as error:
            problems.append((("mapping",), str(error)))
    kind = None
    if kind_class is not None:
        try:
            config = kind_class.config_model.model_validate(document.get("config") or {})
            kind = kind_class(config, mapping)
        except ValidationError as error:
            for item in error.errors():
                problems.append((("config", *item["loc"]), item["msg"]))
        except ValueError as error:
            problems.append((("config",), str(error)))
    if problems or kind is None:
        raise DestinationInvalid(problems)
    return Route(
        id=str(document["id"]),
        enabled=bool(document.get("enabled", True)),
        on=str(document.get("on") or "event"),
        event_types=frozenset(document.get("event_types") or ()),
        sources=frozenset(document.get("sources") or ()),
        condition=condition,
        kind=kind,
        max_age=float(document.get("max_age") or defaults.max_age),
        debounce=float(
            document["debounce"] if document.get("debounce") is not None else defaults.debounce
        ),
        concurrency=int(document.get("concurrency") or defaults.concurrency),
        document=document,
    )


@dataclass(slots=True)
class Routing:
    """Every destination that compiles; the enabled ones indexed for the hot path."""

    routes: dict[str, Route]
    by_type: dict[str | None, list[Route]]
    """Enabled `on: event` routes by event type (None: any type)."""
    on_profile: list[Route]

    @classmethod
    def of(cls, routes: list[Route]) -> Routing:
        by_type: dict[str | None, list[Route]] = {}
        on_profile = []
        for route in sorted(routes, key=lambda r: r.id):
            if not route.enabled:
                continue
            if route.on == "profile":
                on_profile.append(route)
                continue
            for event_type in route.event_types or (None,):
                by_type.setdefault(event_type, []).append(route)
        return cls({r.id: r for r in routes}, by_type, on_profile)

    @property
    def active(self) -> bool:
        return bool(self.by_type or self.on_profile)

    def for_event(self, event: Mapping[str, Any]) -> list[Route]:
        """Enabled event routes whose types and sources match, by id."""
        typed = self.by_type.get(event.get("type"), ())
        wildcard = self.by_type.get(None, ())
        found = [route for route in (*typed, *wildcard) if route.matches(event)]
        if typed and wildcard:
            found.sort(key=lambda route: route.id)
        return found
