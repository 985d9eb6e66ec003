"""What this process committed, counted for `/metrics`: events by type and source, and
segment changes by segment.

Counted from the unit of work once it committed (by the collector pipeline, profile
updates and back-office merges), so a unit that failed or was built again after a
merge conflict counts once or not at all. A handful of dictionary updates per
request; the numbers are read when `/metrics` is scraped."""

from __future__ import annotations

from collections.abc import Iterable

from kith.domain.document import Document
from kith.domain.segment import SEGMENT_ENTERED, SEGMENT_LEFT

OTHER = "other"
Tally = tuple[list[tuple[str, str]], list[tuple[str, str]] | None]
"""Keys of `by_type_and_source` and of `segment_changes` to count, one per event."""
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
        """Count events that are committed."""
        self.add(self.tally(events))

    def tally(self, events: Iterable[Document]) -> Tally:
        """What `events` will count once committed. The collector takes it just before
        the commit, while the unit is still in the CPU's cache (afterwards, with other
        requests run meanwhile, reading the events again cost twice as much), and
        `add`s it once the commit succeeded."""
        kept = self._type_name.kept
        keys = []
        changes = None
        for event in events:
            kind = event["type"]
            keys.append((kind if kind in kept else self._type_name(kind), event["source"]["id"]))
            if kind in _CHANGES:
                changes = changes or []
                changes.append(self._segment_change(event, _CHANGES[kind]))
        return keys, changes

    def add(self, tally: Tally) -> None:
        keys, changes = tally
        counts = self.by_type_and_source
        for key in keys:
            counts[key] = counts.get(key, 0) + 1
        for change in changes or ():
            self.segment_changes[change] = self.segment_changes.get(change, 0) + 1

    def _segment_change(self, event: Document, change: str) -> tuple[str, str]:
        segment = str((event.get("properties") or {}).get("segment"))
        return (self._segment_name(segment), change)
