"""The flow engine: order, fan-out, join, error handling, timeouts, limits, checks on save."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import httpx2 as httpx
import pytest

from kith.domain.clock import utcnow
from kith.workflows.engine import execute
from kith.workflows.graph import FlowInvalid, compile_flow
from kith.workflows.node import FlowNode, NoConfig, NodeConfig, Output
from kith.workflows.registry import NodeRegistry
from kith.workflows.run import FlowRun
from kith.workflows.services import NodeServices


class TagConfig(NodeConfig):
    tag: str


class Tag(FlowNode[TagConfig]):
    """Appends its tag to `memory@seen` and to the payload (a list)."""

    type = "tag"
    name = "Tag"
    config_model = TagConfig

    async def run(self, run: FlowRun, payload: Any) -> Output:
        run.memory.setdefault("seen", []).append(self.config.tag)
        return self.out([*payload, self.config.tag] if isinstance(payload, list) else payload)


class Boom(FlowNode[NoConfig]):
    """Always fails."""

    type = "boom"
    name = "Boom"

    async def run(self, run: FlowRun, payload: Any) -> Output:
        raise RuntimeError("boom")


class Hang(FlowNode[NoConfig]):
    """Waits forever (an I/O node, so its timeout applies)."""

    type = "hang"
    name = "Hang"
    io: ClassVar[bool] = True

    async def run(self, run: FlowRun, payload: Any) -> Output:
        await asyncio.sleep(3600)
        return self.out(payload)


@pytest.fixture
def registry() -> NodeRegistry:
    installed = NodeRegistry.installed()
    for extra in (Tag, Boom, Hang):
        installed.add(extra)
    return installed


def flow(nodes: list[dict[str, Any]], edges: list[tuple[str, str, str | None]]) -> dict[str, Any]:
    return {
        "id": "f",
        "nodes": [{"id": "start", "type": "start"}, *nodes],
        "edges": [{"from": a, "to": b, **({"port": p} if p else {})} for a, b, p in edges],
    }


async def run_flow(
    registry: NodeRegistry, document: dict[str, Any], payload: Any = None
) -> FlowRun:
    compiled = compile_flow(document, registry)
    async with httpx.AsyncClient() as client:
        run = FlowRun(
            flow_id="f",
            version=1,
            run_id="r",
            event={"type": "page-view", "properties": {"total": 150}},
            profile={"id": "p"},
            session=None,
            now=utcnow(),
            services=NodeServices(storage=None, http=client),  # type: ignore[arg-type]
        )
        await execute(compiled, run, [] if payload is None else payload)
    return run


def tag(node_id: str, **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "tag", "config": {"tag": node_id}, **extra}


async def test_nodes_run_in_topological_order_once_per_active_edge(registry: NodeRegistry) -> None:
    document = flow(
        [tag("a"), tag("b"), tag("c"), tag("d")],
        [("start", "a", None), ("start", "b", None), ("a", "d", None), ("b", "d", None),
         ("b", "c", None)],
    )  # fmt: skip
    run = await run_flow(registry, document)
    seen = run.memory["seen"]
    assert sorted(seen[:2]) == ["a", "b"] and seen.count("d") == 2 and seen.count("c") == 1
    assert seen.index("c") > seen.index("b") and min(
        i for i, t in enumerate(seen) if t == "d"
    ) > max(seen.index("a"), seen.index("b"))
    assert next(entry.node for entry in run.trace) == "start"


async def test_a_branch_not_taken_sends_nothing_and_join_waits_for_live_inputs(
    registry: NodeRegistry,
) -> None:
    document = flow(
        [{"id": "big", "type": "if", "config": {"condition": "event@properties.total >= 100"}},
         tag("yes"), tag("no"), tag("other"), {"id": "j", "type": "join"}, tag("after")],
        [("start", "big", None), ("big", "yes", "true"), ("big", "no", "false"),
         ("start", "other", None), ("yes", "j", None), ("no", "j", None), ("other", "j", None),
         ("j", "after", None)],
    )  # fmt: skip
    run = await run_flow(registry, document)
    assert "no" not in run.memory["seen"]
    assert run.memory["seen"].count("after") == 1
    (joined,) = [entry for entry in run.trace if entry.node == "j"]
    assert joined.input == {"yes": ["yes"], "other": ["other"]}


async def test_on_error_stop_continue_and_port(registry: NodeRegistry) -> None:
    stop = await run_flow(
        registry,
        flow(
            [{"id": "x", "type": "boom"}, tag("after")],
            [("start", "x", None), ("x", "after", None)],
        ),
    )
    assert stop.errors == [{"flow": "f", "node": "x", "msg": "boom"}] and "seen" not in stop.memory
    cont = await run_flow(
        registry,
        flow(
            [{"id": "x", "type": "boom", "on_error": "continue"}, tag("after")],
            [("start", "x", None), ("x", "after", None)],
        ),
    )
    assert cont.memory["seen"] == ["after"] and cont.errors[0]["node"] == "x"
    port = await run_flow(
        registry,
        flow(
            [{"id": "x", "type": "boom", "on_error": "port"}, tag("after"), tag("handled")],
            [("start", "x", None), ("x", "after", None), ("x", "handled", "error")],
        ),
    )
    assert port.memory["seen"] == ["handled"] and port.errors == []
    (handled,) = [entry for entry in port.trace if entry.node == "handled"]
    assert handled.input == {"error": "boom", "input": []}


async def test_an_io_node_times_out(registry: NodeRegistry) -> None:
    run = await run_flow(
        registry,
        flow([{"id": "h", "type": "hang", "timeout": 0.05, "on_error": "continue"}, tag("after")],
             [("start", "h", None), ("h", "after", None)]),
    )  # fmt: skip
    assert run.errors[0]["msg"] == "timed out after 0.05 s" and run.memory["seen"] == ["after"]


async def test_the_node_run_limit_ends_a_run(registry: NodeRegistry) -> None:
    # start -> 40 a's -> each to 40 b's: 1,600 runs of b's would be needed
    a_nodes = [tag(f"a{i}") for i in range(40)]
    b_nodes = [tag(f"b{i}") for i in range(40)]
    edges = [("start", f"a{i}", None) for i in range(40)]
    edges += [(f"a{i}", f"b{j}", None) for i in range(40) for j in range(40)]
    run = await run_flow(registry, flow([*a_nodes, *b_nodes], edges))
    assert run.errors[-1]["msg"] == "more than 1000 node runs in one flow run"
    assert len(run.trace) == 1000


@pytest.mark.parametrize(
    ("document", "loc", "text"),
    [
        (flow([tag("a"), tag("b")], [("start", "a", None), ("a", "b", None), ("b", "a", None)]),
         ("edges",), "cycle"),
        (flow([{"id": "x", "type": "nope"}], []), ("nodes", 1, "type"), "unknown node type"),
        (flow([tag("a")], [("start", "a", "true")]), ("edges", 0, "port"), "no port 'true'"),
        (flow([{"id": "x", "type": "if", "config": {"condition": "profile@a =="}}], []),
         ("nodes", 1, "config", "condition"), "line 1, column"),
        (flow([{"id": "x", "type": "if", "config": {}}], []), ("nodes", 1, "config", "condition"),
         "node 'x'"),
        (flow([tag("a"), tag("a")], []), ("nodes", 2, "id"), "used twice"),
        ({"id": "f", "nodes": [tag("a")], "edges": []}, ("nodes",), "exactly one `start`"),
        (flow([tag("a")], [("start", "zz", None)]), ("edges", 0, "to"), "no node 'zz'"),
    ],
)  # fmt: skip
def test_a_broken_flow_is_refused_naming_the_place(
    registry: NodeRegistry, document: dict[str, Any], loc: tuple[Any, ...], text: str
) -> None:
    with pytest.raises(FlowInvalid) as refused:
        compile_flow(document, registry)
    assert any(
        where[: len(loc)] == loc and text in message for where, message in refused.value.problems
    ), refused.value.problems
