"""Segment messages as Kith tracker payloads: the mapping of API.md section 9.

Pure: messages in, `(TrackerPayload, ExternalIdentity)` pairs out, one pair per
unit of work. A batch's messages are grouped per person: messages whose ids
(`userId`, `anonymousId`, `previousId`, session) link them form a chain, kept in
batch order; inside a chain, consecutive messages with the same ids, the same
session and no 30-minute gap become one payload, so 100 messages of 10 people are
10 units of work, not 100, and the pipeline runs unrelated people concurrently.

What maps to what (the event type, then its properties):

- `identify` -> `identify`: the traits (`traits`, else `context.traits`) with
  `firstName`/`lastName` as `firstname`/`lastname`, and `id` = `userId`;
- `track` -> the event name normalised (`Order Completed` -> `order-completed`):
  `properties`;
- `page` / `screen` -> `page-view` / `screen-view`: `properties` plus `name`, `category`;
- `group` -> `group-membership`: `{"groupId", "traits"}`;
- `alias` -> `alias`: `{"previousId", "userId"}`.

The event id is the `messageId` when it is a UUID, else a UUIDv5 of the source and
the `messageId` (the original kept in `context.messageId`): a retried message
carries the same `messageId`, so it is stored once. The event's time corrects the
client's clock: `receivedAt - (sentAt - timestamp)`."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kith.domain.errors import InvalidPayload
from kith.domain.external_identity import ExternalIdentity, uuid5_text
from kith.domain.ids import new_id
from kith.domain.payload import (
    EventPayload,
    EventTime,
    PayloadLimits,
    Ref,
    SourceRef,
    TrackerPayload,
    normalise_event_type,
)
from kith.domain.segment_messages import Message
from kith.tracking.external_people import INACTIVITY

_EVENTS = uuid.UUID("5b0b7c1e-93a4-4a63-9d0e-0f1c1f6f4f3d")
_SESSIONS = uuid.UUID("e0d4a3a2-6a43-4c6e-8f0c-58b8f1c5f2a7")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_FIXED_TYPES = {
    "identify": "identify",
    "page": "page-view",
    "screen": "screen-view",
    "group": "group-membership",
    "alias": "alias",
}
_TRAIT_NAMES = {
    "firstName": "firstname",
    "first_name": "firstname",
    "lastName": "lastname",
    "last_name": "lastname",
}
_PAGE_FIELDS = ("path", "referrer", "search", "title", "url")


def event_id(source_id: str, message_id: str | None) -> tuple[str, bool]:
    """The event's id and whether it is the `messageId` itself (a UUID in its usual
    36-character form, lower-cased; any other text gets a UUIDv5)."""
    if message_id is None:
        return new_id(), True
    if _UUID.fullmatch(message_id):
        return message_id.lower(), True
    return uuid5_text(_EVENTS, f"{source_id}\x00{message_id}"), False


def event_time(message: Message, received: datetime) -> datetime:
    """When it happened by Kith's clock: the client's delay between the event and
    sending it, subtracted from when Kith received it."""
    if message.timestamp is None:
        return received
    if message.sent_at is None:
        return message.timestamp
    return received - (message.sent_at - message.timestamp)


def event_type(message: Message) -> str:
    if message.type == "track":
        return normalise_event_type(message.event or "")
    return _FIXED_TYPES[message.type]


def identify_properties(message: Message) -> dict[str, Any]:
    """The traits under the names the `identify` event type maps (see the event library)."""
    traits = message.traits or message.context.get("traits")
    properties = {
        _TRAIT_NAMES.get(name, name): value
        for name, value in (traits.items() if isinstance(traits, dict) else ())
    }
    if message.user_id is not None:
        properties["id"] = message.user_id
    return properties


def event_properties(message: Message) -> dict[str, Any]:
    kind = message.type
    if kind == "identify":
        return identify_properties(message)
    if kind == "group":
        return {"groupId": message.group_id, "traits": message.traits}
    if kind == "alias":
        return {"previousId": message.previous_id, "userId": message.user_id}
    properties = dict(message.properties)
    if kind in ("page", "screen"):
        for name in ("name", "category"):
            value = getattr(message, name)
            if value is not None:
                properties.setdefault(name, value)
    return properties


def _page(message: Message) -> dict[str, Any] | None:
    page = message.context.get("page")
    page = dict(page) if isinstance(page, dict) else {}
    if message.type == "page":
        page.update({k: message.properties[k] for k in _PAGE_FIELDS if k in message.properties})
    if not page:
        return None
    if "referrer" in page:
        page.setdefault("referer", page["referrer"])  # the name Kith's event `hit` reads
    return page


def event_context(message: Message, message_id_kept: bool) -> dict[str, Any]:
    context = dict(message.context)
    page = _page(message)
    if page is not None:
        context["page"] = page
    if not message_id_kept:
        context["messageId"] = message.message_id
    return context


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def session_context(context: dict[str, Any]) -> dict[str, Any]:
    """Segment's context in the shape Kith's session enrichment reads."""
    out: dict[str, Any] = {}
    browser = {
        key: value
        for key, value in (
            ("userAgent", context.get("userAgent")),
            ("language", context.get("locale")),
        )
        if isinstance(value, str)
    }
    if browser:
        out["browser"] = {"local": {"browser": browser}}
    screen = _dict(context.get("screen"))
    if "width" in screen and "height" in screen:
        out["screen"] = {"local": {"width": screen["width"], "height": screen["height"]}}
    campaign = _dict(context.get("campaign"))
    if campaign:
        names = {"source": "source", "medium": "medium", "name": "campaign"}
        names.update({"term": "term", "content": "content"})
        out["utm"] = {
            ours: campaign[theirs] for theirs, ours in names.items() if theirs in campaign
        }
    if isinstance(context.get("timezone"), str):
        out["time"] = {"tz": context["timezone"]}
    page = _dict(context.get("page"))
    if page:
        out["page"] = page
    return out


def _check(message: Message, kind: str, limits: PayloadLimits) -> None:
    at = message.at
    if not kind:
        raise InvalidPayload.at([*at, "event"], "Event name must not be empty")
    if len(kind) > limits.max_type_length:
        raise InvalidPayload.at([*at, "event"], f"At most {limits.max_type_length} characters")
    for name in ("user_id", "anonymous_id", "previous_id", "message_id"):
        value = getattr(message, name)
        if value is not None and len(value) > limits.max_id_length:
            raise InvalidPayload.at([*at, name], f"At most {limits.max_id_length} characters")


@dataclass(slots=True)
class _Mapped:
    index: int
    identity: ExternalIdentity
    session: str | None
    event: EventPayload
    time: datetime
    context: dict[str, Any]
    device: str | None


def _mapped(
    index: int, message: Message, source_id: str, received: datetime, limits: PayloadLimits
) -> _Mapped:
    kind = event_type(message)
    _check(message, kind, limits)
    identity = ExternalIdentity.of(
        message.user_id,
        message.anonymous_id,
        message.previous_id if message.type == "alias" else None,
    )
    given = message.context.get("sessionId")
    session = (
        uuid5_text(_SESSIONS, f"{identity.device}\x00{given}")
        if isinstance(given, str | int) and not isinstance(given, bool) and str(given).strip()
        else None
    )
    identifier, kept = event_id(source_id, message.message_id)
    moment = event_time(message, received)
    event = EventPayload(
        type=kind,
        id=identifier,
        properties=event_properties(message),
        context=event_context(message, kept),
        time=EventTime(create=moment),
    )
    device = _dict(message.context.get("device")).get("id")
    device_id = str(device).strip()[: limits.max_id_length] if device is not None else None
    return _Mapped(index, identity, session, event, moment, message.context, device_id or None)


def _chains(mapped: list[_Mapped]) -> list[list[_Mapped]]:
    """Messages linked by any id, each group in batch order."""
    parent = list(range(len(mapped)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    first: dict[str, int] = {}
    for index, item in enumerate(mapped):
        keys = [*item.identity.ids, *([item.session] if item.session else [])]
        for key in keys:
            parent[root(index)] = root(first.setdefault(key, index))
    groups: dict[int, list[_Mapped]] = {}
    for index, item in enumerate(mapped):
        groups.setdefault(root(index), []).append(item)
    return list(groups.values())


def _payload(run: list[_Mapped], source_id: str) -> TrackerPayload:
    head = run[0]
    return TrackerPayload(
        source=SourceRef(source_id),
        session=Ref(head.session) if head.session else None,
        device=Ref(head.device) if head.device else None,
        context=session_context(head.context),
        events=[item.event for item in run],
    )


def to_payloads(
    messages: list[Message], source_id: str, received: datetime, limits: PayloadLimits
) -> list[tuple[TrackerPayload, ExternalIdentity]]:
    """One payload per run of one person's messages (see the module), in batch order
    of each run's first message."""
    mapped = [
        _mapped(index, message, source_id, received, limits)
        for index, message in enumerate(messages)
    ]
    runs: list[list[_Mapped]] = []
    for chain in _chains(mapped):
        run = [chain[0]]
        for item in chain[1:]:
            last = run[-1]
            same = item.identity == last.identity and item.session == last.session
            if same and item.time - last.time <= INACTIVITY and len(run) < limits.max_events:
                run.append(item)
            else:
                runs.append(run)
                run = [item]
        runs.append(run)
    runs.sort(key=lambda run: run[0].index)
    return [(_payload(run, source_id), run[0].identity) for run in runs]
