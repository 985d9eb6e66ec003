"""Profile nodes: set, increment, decrement, append, remove, delete, and the segment
nodes add-segment, remove-segment, has-segment."""

from __future__ import annotations

from typing import Any

import pytest

from kith.workflows.graph import FlowInvalid
from tests.workflows.nodes.flows import new_profile_doc, node, output, run_flow

ORDER = {"id": "e1", "type": "order-completed", "properties": {"total": 150, "tier": "gold"}}


async def test_set_writes_profile_session_and_memory_from_templates() -> None:
    profile = new_profile_doc(data={"pii": {"firstname": "Ada"}})
    session = {"id": "s1", "context": {}}
    config = {
        "set": {
            "profile@traits.tier": "event@properties.tier",
            "profile@traits.greeting": "Hi {{profile@data.pii.firstname}}",
            "session@context.seen": True,
            "memory@total": "event@properties.total",
            "profile@traits.nothing": "event@properties.missing",
        }
    }
    run = await run_flow([node("s", "set", config)], event=ORDER, profile=profile, session=session)
    assert profile["traits"] == {"tier": "gold", "greeting": "Hi Ada", "nothing": None}
    assert session["context"] == {"seen": True} and run.memory == {"total": 150}
    assert run.profile_changed and run.session_changed


async def test_set_refuses_paths_it_may_not_write() -> None:
    with pytest.raises(FlowInvalid, match="may write only"):
        await run_flow([node("s", "set", {"set": {"event@properties.x": 1}})])


async def test_set_on_a_profileless_run_fails_the_node() -> None:
    run = await run_flow([node("s", "set", {"set": {"profile@traits.x": 1}})], profileless=True)
    assert "no profile" in run.errors[0]["msg"]


@pytest.mark.parametrize(
    ("node_type", "start", "by", "expected"),
    [("increment", None, 1, 1), ("increment", 2, 0.5, 2.5), ("decrement", 5, 2, 3),
     ("decrement", None, 1, -1)],
)  # fmt: skip
async def test_increment_and_decrement_count_from_zero(
    node_type: str, start: Any, by: float, expected: float
) -> None:
    profile = new_profile_doc(stats={"counters": {} if start is None else {"x": start}})
    run = await run_flow(
        [node("c", node_type, {"field": "profile@stats.counters.x", "by": by})], profile=profile
    )
    assert run.errors == [] and profile["stats"]["counters"]["x"] == expected
    assert type(profile["stats"]["counters"]["x"]) is type(expected)


async def test_increment_refuses_a_field_that_is_not_a_number() -> None:
    profile = new_profile_doc(traits={"x": "7"})
    run = await run_flow([node("c", "increment", {"field": "profile@traits.x"})], profile=profile)
    assert run.errors[0]["msg"] == "profile@traits.x holds str, not a number"
    assert profile["traits"]["x"] == "7"


async def test_append_adds_missing_items_once_and_remove_takes_every_copy() -> None:
    profile = new_profile_doc(traits={"tags": ["a", "b", "a"]})
    run = await run_flow(
        [
            node("add", "append", {"field": "profile@traits.tags", "value": ["b", "c"]}),
            node("one", "append", {"field": "profile@traits.new", "value": "event@type"}),
            node("rm", "remove", {"field": "profile@traits.tags", "value": "a"}),
        ],
        event=ORDER,
        profile=profile,
    )
    assert run.errors == []
    assert profile["traits"] == {"tags": ["b", "c"], "new": ["order-completed"]}


async def test_append_refuses_a_field_that_is_not_a_list() -> None:
    profile = new_profile_doc(traits={"tags": "a"})
    run = await run_flow(
        [node("add", "append", {"field": "profile@traits.tags", "value": "b"})], profile=profile
    )
    assert run.errors[0]["msg"] == "profile@traits.tags holds str, not a list"


async def test_delete_removes_fields_and_ignores_missing_ones() -> None:
    profile = new_profile_doc(traits={"coupon": "X", "keep": 1})
    run = await run_flow(
        [node("d", "delete", {"fields": ["profile@traits.coupon", "profile@traits.none",
                                        "memory@gone"]})],
        profile=profile,
    )  # fmt: skip
    assert run.errors == [] and profile["traits"] == {"keep": 1}


async def test_segments_added_and_removed_by_nodes_and_has_segment_branches() -> None:
    profile = new_profile_doc(segments=["by-condition"])
    nodes = [
        node("add", "add-segment", {"segment": "vip"}),
        node("again", "add-segment", {"segment": "vip"}),
        node("has", "has-segment", {"segment": "vip"}),
        node("yes", "set", {"set": {"memory@vip": True}}),
    ]
    edges = [
        {"from": "start", "to": "add"},
        {"from": "add", "to": "again"},
        {"from": "again", "to": "has"},
        {"from": "has", "port": "true", "to": "yes"},
    ]
    run = await run_flow(nodes, edges, profile=profile)
    assert profile["segments"] == ["by-condition", "vip"]
    assert profile["aux"]["manual_segments"] == ["vip"] and run.memory == {"vip": True}
    run = await run_flow(
        [node("rm", "remove-segment", {"segment": "vip"}),
         node("has", "has-segment", {"segment": "vip"})],
        profile=profile,
    )  # fmt: skip
    assert profile["segments"] == ["by-condition"] and profile["aux"]["manual_segments"] == []
    assert output(run, "has")[0] == "false"


async def test_has_segment_is_false_without_a_profile() -> None:
    run = await run_flow([node("has", "has-segment", {"segment": "vip"})], profileless=True)
    assert output(run, "has")[0] == "false"


async def test_decrement_takes_away_from_a_session_counter() -> None:
    session = {"id": "s1", "stats": {"left": 3}}
    run = await run_flow(
        [node("d", "decrement", {"field": "session@stats.left", "by": 3})], session=session
    )
    assert run.errors == [] and session["stats"]["left"] == 0 and run.session_changed
