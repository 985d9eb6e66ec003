"""Which segments a profile is in: the manual ones (put there by flow nodes or the
API, kept in `aux.manual_segments`) and every enabled segment whose condition is
true of it now. Pure."""

from __future__ import annotations

from datetime import datetime

from kith.domain.document import Document
from kith.domain.segment import MANUAL_SEGMENTS
from kith.segments.catalog import Segment


def evaluate(
    profile: Document, segments: list[Segment], now: datetime, before: list[str]
) -> tuple[list[str], list[str]]:
    """Set `profile.segments` to its true membership; (entered, left) against `before`."""
    manual = (profile.get("aux") or {}).get(MANUAL_SEGMENTS)
    members = [str(item) for item in manual] if isinstance(manual, list) else []
    scope = {"profile": profile}
    for segment in segments:
        assert segment.condition is not None
        if segment.id not in members and segment.condition.evaluate(scope, now=now):
            members.append(segment.id)
    members.sort()
    profile["segments"] = members
    entered = [segment for segment in members if segment not in before]
    left = [segment for segment in before if segment not in members]
    return entered, left
