"""Control nodes: start, end, if, join, error, log, delay."""

from __future__ import annotations

import logging
import time

import pytest

from kith.workflows.graph import FlowInvalid
from tests.workflows.nodes.flows import entry, node, output, run_flow

ORDER = {"id": "e1", "type": "order-completed", "properties": {"total": 150}}


async def test_start_passes_the_event_on_as_the_payload() -> None:
    run = await run_flow([node("t", "template", {"template": "{{payload@properties.total}}"})],
                         event=ORDER)  # fmt: skip
    assert output(run, "start") == ("out", ORDER)
    assert output(run, "t") == ("out", "150")


async def test_end_ends_its_branch_and_has_no_ports() -> None:
    nodes = [node("stop", "end"), node("after", "set", {"set": {"memory@x": 1}})]
    run = await run_flow(nodes, [{"from": "start", "to": "stop"}])
    assert output(run, "stop") == (None, run.event)
    with pytest.raises(FlowInvalid, match="no port 'out'"):
        await run_flow(nodes)  # an edge out of `end`
    assert "x" not in run.memory


@pytest.mark.parametrize(("total", "port"), [(150, "true"), (99, "false")])
async def test_if_branches_on_its_condition(total: int, port: str) -> None:
    nodes = [
        node("big", "if", {"condition": "event@properties.total >= 100"}),
        node("yes", "set", {"set": {"memory@took": "true"}}),
        node("no", "set", {"set": {"memory@took": "false"}}),
    ]
    edges = [
        {"from": "start", "to": "big"},
        {"from": "big", "port": "true", "to": "yes"},
        {"from": "big", "port": "false", "to": "no"},
    ]
    event = {"id": "e", "type": "order-completed", "properties": {"total": total}}
    run = await run_flow(nodes, edges, event=event)
    assert run.memory == {"took": port}
    assert output(run, "big") == (port, event)


async def test_join_runs_once_with_every_live_input() -> None:
    nodes = [
        node("a", "template", {"template": "A"}),
        node("b", "template", {"template": "B"}),
        node("skip", "if", {"condition": "event@missing == 1"}),
        node("j", "join"),
        node("count", "increment", {"field": "memory@joined"}),
    ]
    edges = [
        {"from": "start", "to": "a"},
        {"from": "start", "to": "b"},
        {"from": "start", "to": "skip"},
        {"from": "a", "to": "j"},
        {"from": "b", "to": "j"},
        {"from": "skip", "port": "true", "to": "j"},
        {"from": "j", "to": "count"},
    ]
    run = await run_flow(nodes, edges)
    assert output(run, "j") == ("out", {"a": "A", "b": "B"})
    assert run.memory == {"joined": 1}


async def test_error_fails_with_its_rendered_message() -> None:
    run = await run_flow([node("x", "error", {"message": "no total on {{event@type}}"})])
    assert run.errors == [{"flow": "f", "node": "x", "msg": "no total on page-view"}]
    assert entry(run, "x").error == "no total on page-view"


async def test_log_writes_its_message_at_its_level(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="kith.flows")
    run = await run_flow(
        [node("l", "log", {"message": "order {{event@properties.total}}", "level": "warning"})],
        event=ORDER,
    )
    assert output(run, "l") == ("out", ORDER)
    (record,) = [r for r in caplog.records if r.name == "kith.flows"]
    assert record.levelno == logging.WARNING and record.getMessage() == "flow f: order 150"


async def test_delay_waits_then_passes_its_input_on() -> None:
    started = time.perf_counter()
    run = await run_flow([node("d", "delay", {"seconds": 0.2})])
    assert 0.2 <= time.perf_counter() - started < 2
    assert output(run, "d")[0] == "out"
    slow = await run_flow([node("d", "delay", {"seconds": 1}, timeout=0.05)])
    assert slow.errors[0]["msg"] == "timed out after 0.05 s"
