"""The session (visit) document."""

from __future__ import annotations

from typing import Any

from kith.domain.document import Document


def new_session(session_id: str, profile_id: str | None, channel: str, now: str) -> Document:
    return {
        "id": session_id,
        "profile": {"id": profile_id} if profile_id else None,
        "metadata": {
            "time": {"create": now, "insert": now, "update": now},
            "channel": channel,
            "status": "active",
        },
        "device": {
            "name": None,
            "brand": None,
            "model": None,
            "type": None,
            "ip": None,
            "resolution": None,
            "geo": {},
        },
        "os": {"name": None, "version": None},
        "app": {"type": None, "name": None, "version": None, "language": None, "bot": False},
        "utm": {"source": None, "medium": None, "campaign": None, "term": None, "content": None},
        "context": {},
        "properties": {},
    }


def merge_into(session: Document, context: dict[str, Any], properties: dict[str, Any]) -> None:
    """The payload's `context` and `properties` shallow-merge into the session's."""
    if context:
        session["context"] = {**(session.get("context") or {}), **context}
    if properties:
        session["properties"] = {**(session.get("properties") or {}), **properties}


def bind(session: Document, profile_id: str | None) -> None:
    session["profile"] = {"id": profile_id} if profile_id else None
