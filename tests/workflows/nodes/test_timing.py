"""time-between."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.workflows.nodes.flows import new_profile_doc, node, output, run_flow

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


async def test_time_between_two_fields_in_every_unit() -> None:
    span = {"from": "2025-05-30T12:00:00Z", "to": "2025-06-01T00:00:00+00:00"}
    event = {"id": "e", "type": "t", "properties": span}
    config = {"from": "event@properties.from", "to": "event@properties.to"}
    run = await run_flow([node("t", "time-between", config)], event=event)
    assert output(run, "t") == ("out", {"seconds": 129600.0, "minutes": 2160.0, "hours": 36.0,
                                        "days": 1.5})  # fmt: skip


async def test_time_between_a_field_and_the_runs_time_then_branch_and_store() -> None:
    profile = new_profile_doc(metadata={"time": {"visit": {"last": "2025-04-01T12:00:00"}}})
    nodes = [
        node("t", "time-between", {"from": "profile@metadata.time.visit.last"}),
        node("away", "if", {"condition": "payload@days > 30"}),
        node("s", "set", {"set": {"profile@traits.days_away": "payload@days"}}),
    ]
    edges = [
        {"from": "start", "to": "t"},
        {"from": "t", "to": "away"},
        {"from": "away", "port": "true", "to": "s"},
    ]
    run = await run_flow(nodes, edges, profile=profile, now=NOW)
    assert run.errors == [] and profile["traits"] == {"days_away": 61.0}


async def test_epoch_seconds_and_a_later_start_give_negative_spans() -> None:
    run = await run_flow(
        [node("t", "time-between", {"from": 1748779200 + 60, "to": "2025-06-01T12:00:00Z"})],
    )
    assert output(run, "t")[1]["minutes"] == -1.0


@pytest.mark.parametrize("value", ["event@missing", "yesterday", True])
async def test_a_value_that_is_not_a_datetime_fails_the_node(value: object) -> None:
    run = await run_flow([node("t", "time-between", {"from": value})])
    assert run.errors[0]["msg"] == "`from` is not a datetime"
