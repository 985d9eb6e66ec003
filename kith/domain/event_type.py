"""Event types: what an event of a type must look like and what it changes on the profile.

An event type is configuration, stored as a document; the collector uses its
compiled form (`tracking.event_types`). Defined here as plain data so that the
built-in library, the admin API and the pipeline share one shape."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

MappingOp = Literal[
    "set", "set_if_missing", "append_unique", "increment", "add", "remove", "delete"
]
OnInvalid = Literal["store", "reject"]


class MappingRule(msgspec.Struct, kw_only=True, rename={"from_": "from"}):
    """Copy (or combine) one value from the event into the profile.

    `from_` is a path such as `event@properties.email` or a constant; `to` is a
    `profile@...` path whose keys may contain `{event@...}` templates."""

    to: str
    op: MappingOp = "set"
    from_: Any = None


class EventType(msgspec.Struct, kw_only=True):
    type: str
    description: str = ""
    tags: list[str] = msgspec.field(default_factory=list)
    schema: dict[str, Any] | None = None
    """A JSON Schema for the event's `properties`."""
    on_invalid: OnInvalid = "store"
    mapping: list[MappingRule] = msgspec.field(default_factory=list)
    consents: bool = False
    """The event's `granted`/`revoked` lists of consent types update `profile.consents`."""
    builtin: bool = False
    """Read-only flag: the type comes from Kith's library (possibly overridden)."""


def event_type_document(event_type: EventType) -> dict[str, Any]:
    return msgspec.to_builtins(event_type)  # type: ignore[no-any-return]


def event_type_from_document(document: dict[str, Any]) -> EventType:
    return msgspec.convert(document, EventType)
