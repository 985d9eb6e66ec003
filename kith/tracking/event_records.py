"""The event records one payload produces: system events first, then its own."""

from __future__ import annotations

from typing import Any

from kith.domain.clock import iso
from kith.domain.event import build_event
from kith.domain.ids import new_id
from kith.domain.payload import EventPayload, TrackerPayload
from kith.domain.source import INTERNAL_SOURCE_ID, Source
from kith.storage.ports import Document

Record = tuple[int | None, Document]
"""(index of the event in the payload, or None for a system event; the record)."""


def system_event(
    kind: str,
    properties: dict[str, Any],
    *,
    now: str,
    session: Document | None,
    profile_id: str | None,
    request: Document,
    channel: str | None = None,
    profile_less: bool = False,
) -> Document:
    """An `@internal` event; its channel is the session's unless one is given."""
    if channel is None:
        channel = ((session or {}).get("metadata") or {}).get("channel") or ""
    return build_event(
        event_id=new_id(),
        event_type=kind,
        source_id=INTERNAL_SOURCE_ID,
        channel=channel,
        now=now,
        created=None,
        session=session,
        profile_id=profile_id,
        profile_less=profile_less,
        properties=properties,
        context={},
        tags=[],
        request=request,
        page=None,
    )


def event_records(
    payload: TrackerPayload,
    source: Source,
    session: Document | None,
    profile_id: str | None,
    *,
    profile_less: bool,
    now: str,
    request: Document,
    system: list[tuple[str, dict[str, Any]]],
    own: list[tuple[str, int, EventPayload]],
) -> list[Record]:
    """The system events first, then the payload's own events not stored before."""
    records: list[Record] = [
        (
            None,
            system_event(
                kind,
                properties,
                now=now,
                session=session,
                profile_id=profile_id,
                request=request,
                channel=source.channel,
                profile_less=profile_less,
            ),
        )
        for kind, properties in system
    ]
    common: dict[str, Any] = {
        "channel": source.channel,
        "now": now,
        "session": session,
        "profile_id": profile_id,
        "profile_less": profile_less,
        "request": request,
    }
    for event_id, index, event in own:
        created = event.time.create if event.time and event.time.create else None
        record = build_event(
            event_id=event_id,
            event_type=event.type,
            source_id=source.id,
            created=iso(created) if created else None,
            properties=event.properties,
            context=event.context,
            tags=event.tags,
            page=event.context.get("page") or payload.context.get("page"),
            **common,
        )
        records.append((index, record))
    return records
