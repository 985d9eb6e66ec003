"""The Tracardi tracker payload, decoded straight from the raw body into typed structs.

Unknown fields are ignored (the browser snippet sends `device`); ids and event
types are normalised here so everything downstream sees one spelling."""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from typing import Any

import msgspec

from kith.domain.errors import InvalidPayload


class Ref(msgspec.Struct):
    id: str | None = None


class SourceRef(msgspec.Struct):
    id: str


class EventTime(msgspec.Struct):
    create: datetime | None = None


class EventPayload(msgspec.Struct):
    type: str
    id: str | None = None
    properties: dict[str, Any] = msgspec.field(default_factory=dict)
    options: dict[str, Any] = msgspec.field(default_factory=dict)
    context: dict[str, Any] = msgspec.field(default_factory=dict)
    tags: list[str] = msgspec.field(default_factory=list)
    time: EventTime | None = None


class TrackerPayload(msgspec.Struct):
    source: SourceRef
    session: Ref | None = None
    profile: Ref | None = None
    context: dict[str, Any] = msgspec.field(default_factory=dict)
    properties: dict[str, Any] = msgspec.field(default_factory=dict)
    events: list[EventPayload] = msgspec.field(default_factory=list)
    options: dict[str, Any] = msgspec.field(default_factory=dict)

    def option(self, name: str, default: bool = True) -> bool:
        """A boolean option; only real booleans count, anything else is the default."""
        value = self.options.get(name, default)
        return value if isinstance(value, bool) else default


_payload_decoder = msgspec.json.Decoder(TrackerPayload)
_batch_decoder = msgspec.json.Decoder(list[TrackerPayload])
_PATH_PART = re.compile(r"\.([A-Za-z_][\w-]*)|\[(\d+)\]|\.`([^`]*)`")


def _loc_of(message: str) -> tuple[str, list[str | int]]:
    """Split msgspec's "... - at `$.events[0].type`" into a message and a loc list."""
    text, sep, where = message.rpartition(" - at `")
    if not sep:
        return message, ["body"]
    loc: list[str | int] = ["body"]
    for name, index, quoted in _PATH_PART.findall(where.rstrip("`").removeprefix("$")):
        loc.append(int(index) if index else (name or quoted))
    return text, loc


def _invalid(exc: msgspec.DecodeError) -> InvalidPayload:
    message = str(exc)
    if isinstance(exc, msgspec.ValidationError):
        msg, loc = _loc_of(message)
        kind = "missing" if msg.startswith("Object missing required field") else "type_error"
        if kind == "missing":
            field = msg.split("`")[1] if "`" in msg else ""
            loc = [*loc, field]
            msg = "Field required"
        return InvalidPayload.at(loc, msg, kind)
    return InvalidPayload.at(["body"], f"Malformed JSON: {message}", "json_invalid")


def normalise_event_type(raw: str) -> str:
    return "-".join(raw.strip().lower().split())


@lru_cache(maxsize=4096)
def event_name(event_type: str) -> str:
    return " ".join(part.capitalize() for part in event_type.replace("_", "-").split("-") if part)


def _clean_id(ref: Ref | None) -> Ref | None:
    if ref is None or ref.id is None:
        return None
    trimmed = ref.id.strip()
    return Ref(trimmed) if trimmed else None


def normalise(payload: TrackerPayload, max_events: int, at: list[str | int]) -> TrackerPayload:
    """Trim ids, normalise event types, and enforce the per-payload limits."""
    if len(payload.events) > max_events:
        raise InvalidPayload.at(
            [*at, "events"], f"At most {max_events} events per payload", "too_long"
        )
    payload.source.id = payload.source.id.strip().lower()
    if not payload.source.id:
        raise InvalidPayload.at([*at, "source", "id"], "Source id must not be empty")
    payload.session = _clean_id(payload.session)
    payload.profile = _clean_id(payload.profile)
    for index, event in enumerate(payload.events):
        event.type = normalise_event_type(event.type)
        if not event.type:
            raise InvalidPayload.at([*at, "events", index, "type"], "Event type must not be empty")
        if event.id is not None:
            event.id = event.id.strip() or None
    return payload


def decode_payload(body: bytes, max_events: int) -> TrackerPayload:
    try:
        payload = _payload_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise _invalid(exc) from None
    return normalise(payload, max_events, ["body"])


def decode_batch(body: bytes, max_events: int, max_payloads: int) -> list[TrackerPayload]:
    try:
        payloads = _batch_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise _invalid(exc) from None
    if len(payloads) > max_payloads:
        raise InvalidPayload.at(["body"], f"At most {max_payloads} payloads per batch", "too_long")
    return [normalise(p, max_events, ["body", i]) for i, p in enumerate(payloads)]
