"""Segment membership kept on the profile: `segments` lists every segment the profile is
in; `aux.manual_segments` the ones put there by flow nodes or the API, which stay
until removed (condition segments are kept true by Kith)."""

from __future__ import annotations

from kith.domain.document import Document

MANUAL_SEGMENTS = "manual_segments"
SEGMENT_ENTERED = "segment-entered"
SEGMENT_LEFT = "segment-left"


def manual_segments(profile: Document) -> list[str]:
    """The profile's manual segments, as a list stored on it (changes stick)."""
    aux = profile.setdefault("aux", {})
    found = aux.get(MANUAL_SEGMENTS)
    if not isinstance(found, list):
        found = []
        aux[MANUAL_SEGMENTS] = found
    return found
