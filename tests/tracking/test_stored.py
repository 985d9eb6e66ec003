"""Counting committed events for metrics: by type and source, capped, and segment changes."""

from __future__ import annotations

from typing import Any

from kith.tracking.stored import CappedNames, StoredEvents


def event(kind: str, source: str = "web", **properties: Any) -> dict[str, Any]:
    return {"type": kind, "source": {"id": source}, "properties": properties}


def test_events_are_counted_by_type_and_source() -> None:
    stored = StoredEvents()
    stored.count([event("page-view"), event("page-view"), event("click", "app")])
    stored.count([event("page-view")])
    assert stored.by_type_and_source == {("page-view", "web"): 3, ("click", "app"): 1}


def test_types_past_the_cap_are_other_and_the_first_keep_their_names() -> None:
    stored = StoredEvents(max_types=2)
    stored.count([event("a"), event("b"), event("c"), event("d"), event("a")])
    assert stored.by_type_and_source == {("a", "web"): 2, ("b", "web"): 1, ("other", "web"): 2}


def test_segment_events_count_as_segment_changes() -> None:
    stored = StoredEvents()
    stored.count(
        [
            event("segment-entered", "@internal", segment="vip"),
            event("segment-entered", "@internal", segment="new"),
            event("segment-left", "@internal", segment="vip"),
            event("page-view"),
        ]
    )
    assert stored.segment_changes == {("vip", "entered"): 1, ("new", "entered"): 1,
                                      ("vip", "left"): 1}  # fmt: skip


def test_capped_names_never_move_a_kept_name() -> None:
    name = CappedNames(1)
    assert [name("x"), name("y"), name("x")] == ["x", "other", "x"]
