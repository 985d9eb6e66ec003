"""The Tracardi tracker payload, decoded straight from the raw body into typed structs.

Unknown fields are ignored (the browser snippet sends `device`); ids and event
types are normalised here so everything downstream sees one spelling."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import msgspec

from kith.domain.errors import InvalidPayload


@dataclass(frozen=True, slots=True)
class PayloadLimits:
    """What one tracker payload may hold; every breach is a 422 naming the field.

    The defaults are Settings' defaults. Depth counts the body itself as level 1."""

    max_events: int = 1000
    max_depth: int = 32
    max_id_length: int = 256
    max_type_length: int = 128
    max_properties: int = 500


def limits_of(limits: PayloadLimits | int) -> PayloadLimits:
    """A bare int is the events-per-payload limit with every other limit at its default."""
    return limits if isinstance(limits, PayloadLimits) else PayloadLimits(max_events=limits)


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
    device: Ref | None = None
    """The browser's own device id (Kith's tracker keeps one in localStorage)."""
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


def _clean_id(ref: Ref | None, limit: int, loc: list[str | int]) -> Ref | None:
    if ref is None or ref.id is None:
        return None
    trimmed = ref.id.strip()
    _check_length(trimmed, limit, loc)
    return Ref(trimmed) if trimmed else None


def _check_length(value: str, limit: int, loc: list[str | int]) -> None:
    if len(value) > limit:
        raise InvalidPayload.at(loc, f"At most {limit} characters", "too_long")
    if "\x00" in value:
        # no id or type needs one, and PostgreSQL cannot store it in text
        raise InvalidPayload.at(loc, "Must not contain the NUL character", "value_error")


_INT_MIN, _UINT_MAX = -(2**63), 2**64 - 1
# digits -> "1", both opening brackets -> "{", everything else -> ".": one C-speed
# translate answers both questions below (a regex search was 10x slower)
_SCAN = bytes(
    0x31 if 0x30 <= byte <= 0x39 else 0x7B if byte in (0x7B, 0x5B) else 0x2E for byte in range(256)
)
_LONG_NUMBER = b"1" * 19
_PAIRS = bytes.maketrans(b"[]", b"{}")
_NOT_BRACKETS = bytes(range(256)).translate(None, b"{}[]")


def check_json(value: Any, max_depth: int, loc: list[str | int], level: int = 1) -> None:
    """Refuse JSON nested deeper than `max_depth` (`value` sitting at `level`), and
    integers past 64 bits, which no store serialises.

    Iterative, so the check itself cannot hit Python's recursion limit; the
    loc names the first offending container or number."""
    stack: list[tuple[Any, int, list[str | int]]] = [(value, level, loc)]
    while stack:
        node, depth, where = stack.pop()
        if isinstance(node, dict):
            items: Any = node.items()
        elif isinstance(node, list):
            items = enumerate(node)
        else:
            continue
        if depth > max_depth:
            raise InvalidPayload.at(where, f"Nested deeper than {max_depth} levels", "too_deep")
        for key, child in items:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1, [*where, key]))
            elif type(child) is int and not _INT_MIN <= child <= _UINT_MAX:
                raise InvalidPayload.at(
                    [*where, key], "Integer outside the 64-bit range", "int_range"
                )


def needs_json_check(body: bytes, max_depth: int) -> bool:
    """False when `body` (valid JSON: it was decoded) cannot nest past `max_depth` and
    has no run of 19 digits (the shortest integer that may not fit 64 bits).

    C-speed scans that spare the tree walk to the typical payload, small or large: a
    body with few brackets cannot nest deep; a larger one (a bulk payload, a batch)
    is measured."""
    scanned = body.translate(_SCAN)
    if _LONG_NUMBER in scanned:
        return True
    return scanned.count(b"{") > max_depth and _nests_deeper(body, max_depth)


def _nests_deeper(body: bytes, max_depth: int) -> bool:
    """Whether the JSON `body` nests containers more than `max_depth` deep.

    Without a backslash, every `"` delimits a string, so the text outside strings is
    every other piece between quotes; its brackets, stripped of the rest, lose one
    level of nesting per pass of removing empty pairs. With a backslash (an escaped
    quote may hide in a string) the answer is yes: the walk decides."""
    if b"\\" in body:
        return True
    brackets = b"".join(body.split(b'"')[::2]).translate(_PAIRS, _NOT_BRACKETS)
    for _ in range(max_depth):
        if not brackets:
            return False
        brackets = brackets.replace(b"{}", b"")
    return bool(brackets)


def _check_payload_json(payload: TrackerPayload, max_depth: int, at: list[str | int]) -> None:
    """The free-form parts of a payload (everything else is a fixed, shallow struct)."""
    base = len(at)  # the body is level 1; a batch's payloads are level 2
    for name in ("context", "properties", "options"):
        check_json(getattr(payload, name), max_depth, [*at, name], base + 1)
    for index, event in enumerate(payload.events):
        for name in ("properties", "options", "context", "tags"):
            where: list[str | int] = [*at, "events", index, name]
            check_json(getattr(event, name), max_depth, where, base + 3)


def normalise(
    payload: TrackerPayload, limits: PayloadLimits | int, at: list[str | int]
) -> TrackerPayload:
    """Trim ids, normalise event types, and enforce the per-payload limits."""
    limits = limits_of(limits)
    if len(payload.events) > limits.max_events:
        raise InvalidPayload.at(
            [*at, "events"], f"At most {limits.max_events} events per payload", "too_long"
        )
    payload.source.id = payload.source.id.strip().lower()
    if not payload.source.id:
        raise InvalidPayload.at([*at, "source", "id"], "Source id must not be empty")
    _check_length(payload.source.id, limits.max_id_length, [*at, "source", "id"])
    payload.session = _clean_id(payload.session, limits.max_id_length, [*at, "session", "id"])
    payload.profile = _clean_id(payload.profile, limits.max_id_length, [*at, "profile", "id"])
    payload.device = _clean_id(payload.device, limits.max_id_length, [*at, "device", "id"])
    for index, event in enumerate(payload.events):
        where: list[str | int] = [*at, "events", index]
        event.type = normalise_event_type(event.type)
        if not event.type:
            raise InvalidPayload.at([*where, "type"], "Event type must not be empty")
        _check_length(event.type, limits.max_type_length, [*where, "type"])
        if event.id is not None:
            event.id = event.id.strip() or None
            if event.id is not None:
                _check_length(event.id, limits.max_id_length, [*where, "id"])
        if len(event.properties) > limits.max_properties:
            raise InvalidPayload.at(
                [*where, "properties"],
                f"At most {limits.max_properties} properties per event",
                "too_long",
            )
    return payload


def _too_deep(limits: PayloadLimits) -> InvalidPayload:
    return InvalidPayload.at(["body"], f"Nested deeper than {limits.max_depth} levels", "too_deep")


def decode_payload(body: bytes, limits: PayloadLimits | int) -> TrackerPayload:
    limits = limits_of(limits)
    try:
        payload = _payload_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise _invalid(exc) from None
    except RecursionError:  # msgspec gives up far past any sane limit
        raise _too_deep(limits) from None
    if needs_json_check(body, limits.max_depth):
        _check_payload_json(payload, limits.max_depth, ["body"])
    return normalise(payload, limits, ["body"])


def decode_batch(
    body: bytes, limits: PayloadLimits | int, max_payloads: int
) -> list[TrackerPayload]:
    limits = limits_of(limits)
    try:
        payloads = _batch_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise _invalid(exc) from None
    except RecursionError:
        raise _too_deep(limits) from None
    if len(payloads) > max_payloads:
        raise InvalidPayload.at(["body"], f"At most {max_payloads} payloads per batch", "too_long")
    walk = needs_json_check(body, limits.max_depth)
    for index, payload in enumerate(payloads):
        if walk:
            _check_payload_json(payload, limits.max_depth, ["body", index])
        normalise(payload, limits, ["body", index])
    return payloads
