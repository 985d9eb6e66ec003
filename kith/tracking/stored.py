"""What this process committed, counted for `/metrics`: events by type and source, and
segment changes by segment.

Counted from the unit of work after its commit (by the collector pipeline, profile
updates and back-office merges), so a unit that failed or was built again after a
merge conflict counts once or not at all. A handful of dictionary updates per
request; the numbers are read when `/metrics` is scraped."""

from __future__ import annotations

from collections.abc import Iterable

from kith.domain.document import Document
from kith.domain.segment import SEGMENT_ENTERED, SEGMENT_LEFT

OTHER = "other"
_CHANGES = {SEGMENT_ENTERED: "entered", SEGMENT_LEFT: "left"}


class CappedNames:
    """The first `limit` distinct names seen keep their name; later ones are `other`.

    Event types come from clients: without a cap a client inventing types would
    create a time series per type. First come rather than top N, so a name's count
    never moves to `other` (a counter must not go down)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self.kept: set[str] = set()

    def __call__(self, name: str) -> str:
        if name in self.kept:
            return name
        if len(self.kept) >= self._limit:
            return OTHER
        self.kept.add(name)
        return name


class StoredEvents:
    def __init__(self, max_types: int = 100, max_segments: int = 1000) -> None:
        self._type_name = CappedNames(max_types)
        self._segment_name = CappedNames(max_segments)
        self.by_type_and_source: dict[tuple[str, str], int] = {}
        """Committed events by (type, source id); system events have source `@internal`."""
        self.segment_changes: dict[tuple[str, str], int] = {}
        """(segment id, `entered` or `left`): from the segment events committed."""

    def count(self, events: Iterable[Document]) -> None:
        """Runs on every request: the common case (a type already named) calls nothing."""
        counts = self.by_type_and_source
        kept = self._type_name.kept
        for event in events:
            kind = event["type"]
            key = (kind if kind in kept else self._type_name(kind), event["source"]["id"])
            counts[key] = counts.get(key, 0) + 1
            if kind in _CHANGES:
                self._segment_changed(event, _CHANGES[kind])

    def _segment_changed(self, event: Document, change: str) -> None:
        segment = str((event.get("properties") or {}).get("segment"))
        key = (self._segment_name(segment), change)
        self.segment_changes[key] = self.segment_changes.get(key, 0) + 1
