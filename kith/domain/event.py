"""Event records as API.md's Event describes them, and the system events."""

from __future__ import annotations

from typing import Any

from kith.domain.document import Document
from kith.domain.payload import event_name

SYSTEM_PROFILE_CREATED = "profile-created"
SYSTEM_SESSION_OPENED = "session-opened"
SYSTEM_VISIT_STARTED = "visit-started"
SYSTEM_PROFILE_MERGED = "profile-merged"
SYSTEM_MERGE_REFUSED = "merge-refused"
HIDDEN_HEADERS = frozenset({"authorization", "cookie"})


def hit_of(page: Any) -> Document:
    """`hit` comes from the page context the browser snippet sends."""
    if not isinstance(page, dict):
        return {"url": None, "title": None, "referer": None}
    return {"url": page.get("url"), "title": page.get("title"), "referer": page.get("referer")}


def visible_headers(headers: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name not in HIDDEN_HEADERS}


def build_event(
    *,
    event_id: str,
    event_type: str,
    source_id: str,
    channel: str,
    now: str,
    created: str | None,
    session: Document | None,
    profile_id: str | None,
    profile_less: bool,
    properties: dict[str, Any],
    context: dict[str, Any],
    tags: list[str],
    request: Document,
    page: Any,
) -> Document:
    return {
        "id": event_id,
        "type": event_type,
        "name": event_name(event_type),
        "metadata": {
            "time": {"insert": now, "create": created or now},
            "status": "collected",
            "valid": True,
            "error": None,
            "profile_less": profile_less,
            "channel": channel,
        },
        "source": {"id": source_id},
        "session": {"id": session["id"]} if session else None,
        "profile": {"id": profile_id} if profile_id else None,
        "properties": properties,
        "context": context,
        "tags": tags,
        "request": request,
        "hit": hit_of(page),
        "os": dict(session["os"]) if session else {},
        "app": dict(session["app"]) if session else {},
        "device": dict(session["device"]) if session else {},
        "utm": dict(session["utm"]) if session else {},
    }
