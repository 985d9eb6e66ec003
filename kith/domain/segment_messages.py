"""The Segment / RudderStack HTTP API's messages, decoded straight from the body.

Both vendors' SDKs send the same shapes: a batch `{"batch": [...], "sentAt",
"context", "writeKey"}`, or one message whose type the path names. A batch is
decoded in two steps, first into raw messages and then each on its own, so the
32 KiB limit is checked on the bytes each message took on the wire, before it is
decoded. Everything wrong here is the sender's mistake and stores nothing: the
whole request is refused (the HTTP layer answers 400), since an SDK does not
retry a 400 and a partly stored batch could not be told apart from a whole one.

Ids may arrive as numbers (the SDKs stringify them, hand-written senders do not);
they are trimmed strings from here on, and empty means absent."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec

from kith.domain.errors import InvalidPayload, PayloadTooLarge
from kith.domain.payload import check_json, needs_json_check

MAX_REQUEST_BYTES = 4 * 1024 * 1024
"""The largest request body, after decompression."""
MAX_MESSAGE_BYTES = 32 * 1024
"""The largest message, as sent."""
MAX_BATCH_MESSAGES = 5000
"""The most messages in one batch: the SDKs send at most a few hundred."""

MessageType = Literal["identify", "track", "page", "screen", "group", "alias"]
MESSAGE_TYPES: tuple[MessageType, ...] = ("identify", "track", "page", "screen", "group", "alias")

_Id = str | int | float


class _Wire(msgspec.Struct, rename="camel", kw_only=True):
    type: str | None = None
    user_id: _Id | None = None
    anonymous_id: _Id | None = None
    previous_id: _Id | None = None
    group_id: _Id | None = None
    message_id: _Id | None = None
    event: str | None = None
    name: str | None = None
    category: str | None = None
    properties: dict[str, Any] | None = None
    traits: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    timestamp: datetime | None = None
    original_timestamp: datetime | None = None
    sent_at: datetime | None = None
    write_key: str | None = None


class _Envelope(msgspec.Struct, rename="camel", kw_only=True):
    batch: list[msgspec.Raw]
    sent_at: datetime | None = None
    context: dict[str, Any] | None = None
    write_key: str | None = None


_wire_decoder = msgspec.json.Decoder(_Wire)
_envelope_decoder = msgspec.json.Decoder(_Envelope)


@dataclass(slots=True)
class Message:
    """One checked message: ids trimmed, the client's times in UTC."""

    type: MessageType
    user_id: str | None = None
    anonymous_id: str | None = None
    previous_id: str | None = None
    group_id: str | None = None
    message_id: str | None = None
    event: str | None = None
    name: str | None = None
    category: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    traits: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    timestamp: datetime | None = None
    """When it happened by the client's clock (`timestamp`, else `originalTimestamp`)."""
    sent_at: datetime | None = None
    """When the client sent it by the same clock (the message's, else the batch's)."""
    at: list[str | int] = field(default_factory=lambda: ["body"])
    """Where it sat in the body, for error locations."""


@dataclass(slots=True)
class Delivery:
    """What one request carried: its messages and the write key its body named."""

    messages: list[Message]
    write_key: str | None = None


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _id(value: _Id | None) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _text(value: str | None) -> str | None:
    text = value.strip() if value is not None else ""
    return text or None


def _message_type(wire: _Wire, forced: MessageType | None, at: list[str | int]) -> MessageType:
    if forced is not None:
        return forced
    kind = (wire.type or "").strip().lower()
    for known in MESSAGE_TYPES:
        if kind == known:
            return known
    raise InvalidPayload.at([*at, "type"], f"Unknown message type {wire.type!r}")


def _checked(
    wire: _Wire,
    forced: MessageType | None,
    at: list[str | int],
    batch_sent_at: datetime | None,
    batch_context: dict[str, Any] | None,
) -> Message:
    kind = _message_type(wire, forced, at)
    context = {**batch_context, **(wire.context or {})} if batch_context else wire.context or {}
    message = Message(
        type=kind,
        user_id=_id(wire.user_id),
        anonymous_id=_id(wire.anonymous_id),
        previous_id=_id(wire.previous_id),
        group_id=_id(wire.group_id),
        message_id=_id(wire.message_id),
        event=_text(wire.event),
        name=_text(wire.name),
        category=_text(wire.category),
        properties=wire.properties or {},
        traits=wire.traits or {},
        context=context,
        timestamp=_utc(wire.timestamp or wire.original_timestamp),
        sent_at=_utc(wire.sent_at or batch_sent_at),
        at=at,
    )
    if kind == "alias":
        if message.user_id is None or message.previous_id is None:
            raise InvalidPayload.at(at, "An alias needs a userId and a previousId")
    elif message.user_id is None and message.anonymous_id is None:
        raise InvalidPayload.at(at, "A message needs a userId or an anonymousId")
    if kind == "track" and message.event is None:
        raise InvalidPayload.at([*at, "event"], "A track call needs an event name")
    if kind == "group" and message.group_id is None:
        raise InvalidPayload.at([*at, "groupId"], "A group call needs a groupId")
    return message


def _invalid(exc: msgspec.DecodeError, at: list[str | int]) -> InvalidPayload:
    text = str(exc)
    if isinstance(exc, msgspec.ValidationError):
        return InvalidPayload.at(at, text.replace("`$", "`" + ".".join(map(str, at))))
    return InvalidPayload.at(at, f"Malformed JSON: {text}", "json_invalid")


def _decode_wire(raw: bytes, at: list[str | int], max_depth: int, level: int) -> _Wire:
    """One message sitting at `level` of the body (1: the body itself)."""
    try:
        if needs_json_check(raw, max_depth - level + 1):
            check_json(msgspec.json.decode(raw), max_depth, at, level)
        return _wire_decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise _invalid(exc, at) from None
    except RecursionError:
        raise InvalidPayload.at(at, f"Nested deeper than {max_depth} levels", "too_deep") from None


def decode_batch(body: bytes, max_depth: int) -> Delivery:
    """A batch body (`/v1/batch`, `/v1/import`, `/v1/b`, the beacon)."""
    try:
        envelope = _envelope_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise _invalid(exc, ["body"]) from None
    except RecursionError:
        raise InvalidPayload.at(["body"], f"Nested deeper than {max_depth} levels") from None
    if len(envelope.batch) > MAX_BATCH_MESSAGES:
        raise PayloadTooLarge(f"At most {MAX_BATCH_MESSAGES} messages per batch")
    if envelope.context:
        check_json(envelope.context, max_depth, ["body", "context"], 2)
    sent_at = _utc(envelope.sent_at)
    messages = []
    for index, raw in enumerate(envelope.batch):
        at: list[str | int] = ["body", "batch", index]
        if len(raw) > MAX_MESSAGE_BYTES:
            raise PayloadTooLarge(f"Message {index} is larger than {MAX_MESSAGE_BYTES} bytes")
        wire = _decode_wire(bytes(raw), at, max_depth, 3)
        messages.append(_checked(wire, None, at, sent_at, envelope.context))
    return Delivery(messages, _text(envelope.write_key))


def decode_message(body: bytes, kind: MessageType, max_depth: int) -> Delivery:
    """One message (`/v1/track`, `/v1/t`, ...); the path names its type."""
    if len(body) > MAX_MESSAGE_BYTES:
        raise PayloadTooLarge(f"A message may be at most {MAX_MESSAGE_BYTES} bytes")
    wire = _decode_wire(body, ["body"], max_depth, 1)
    return Delivery([_checked(wire, kind, ["body"], None, None)], _text(wire.write_key))


def message_from_query(params: list[tuple[str, str]]) -> dict[str, Any]:
    """A pixel's query string as a message: `context.page.url=...` becomes
    `{"context": {"page": {"url": ...}}}` (RudderStack's pixel API). A name given
    twice keeps its last value; a name that is both a value and a prefix keeps the
    deeper one."""
    message: dict[str, Any] = {}
    for name, value in params:
        keys = [key for key in name.split(".") if key]
        if not keys:
            continue
        node = message
        for key in keys[:-1]:
            child = node.get(key)
            if not isinstance(child, dict):
                child = node[key] = {}
            node = child
        if not isinstance(node.get(keys[-1]), dict):
            node[keys[-1]] = value
    return message
