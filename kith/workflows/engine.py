"""Runs a compiled flow.

Nodes are visited in topological order. A node runs once per input that reached
it over an active edge (a branch not taken sends nothing); `join` runs once with
all its inputs, `{source node id: payload}`, because by the time it is visited
every node before it has run. A node's failure follows its `on_error`: `stop`
ends the run with an error, `continue` passes the input on as if the node had
succeeded, `port` sends `{"error", "input"}` out of its `error` port. Nodes
that wait on the outside world run under their timeout; at most
`max_node_runs` node runs make one flow run."""

from __future__ import annotations

import asyncio
import copy
import time
from typing import Any

from kith.workflows.graph import CompiledFlow, CompiledNode
from kith.workflows.node import Output
from kith.workflows.run import FlowRun, TraceEntry

MAX_NODE_RUNS = 1000


class _Stop(Exception):
    """The run ends (a node failed with `on_error: stop`, or the node-run limit)."""


async def execute(
    flow: CompiledFlow, run: FlowRun, payload: Any, *, max_node_runs: int = MAX_NODE_RUNS
) -> None:
    """Run `flow` from its start node with `payload`; results are left on `run`."""
    if flow.snapshot and run.profile is not None and run.started_profile is None:
        run.started_profile = copy.deepcopy(run.profile)
    inbox: dict[str, list[tuple[str, Any]]] = {flow.start: [("", payload)]}
    runs = 0
    try:
        for node_id in flow.order:
            inputs = inbox.pop(node_id, None)
            if not inputs:
                continue
            node = flow.nodes[node_id]
            items = (
                [{source: item for source, item in inputs}]
                if node.joins
                else [item for _, item in inputs]
            )
            for item in items:
                runs += 1
                if runs > max_node_runs:
                    _fail(run, node, f"more than {max_node_runs} node runs in one flow run")
                    raise _Stop
                output = await _run_node(node, run, item)
                if output.port is None:
                    continue
                for target in node.edges.get(output.port, ()):
                    inbox.setdefault(target, []).append((node_id, output.payload))
    except _Stop:
        return


async def _run_node(node: CompiledNode, run: FlowRun, item: Any) -> Output:
    started = time.perf_counter()
    error: str | None = None
    try:
        if node.io:
            output = await asyncio.wait_for(node.impl.run(run, item), node.timeout)
        else:
            output = await node.impl.run(run, item)
    except TimeoutError:
        error = f"timed out after {node.timeout:g} s"
    except Exception as exc:
        error = str(exc) or type(exc).__name__
    if error is not None:
        run.failed_node_types.append(node.type)
        for secret in node.impl.secrets():
            error = error.replace(secret, "***")
        output = _recover(node, run, item, error)
    run.trace.append(
        TraceEntry(
            node.id,
            item,
            output.port,
            output.payload,
            (time.perf_counter() - started) * 1000,
            error,
        )
    )
    if error is not None and node.on_error == "stop":
        raise _Stop
    return output


def _recover(node: CompiledNode, run: FlowRun, item: Any, error: str) -> Output:
    if node.on_error == "port":
        return Output("error", {"error": error, "input": item})
    _fail(run, node, error)
    if node.on_error == "continue":
        return Output("out" if "out" in type(node.impl).ports else None, item)
    return Output(None, None)


def _fail(run: FlowRun, node: CompiledNode, message: str) -> None:
    run.errors.append({"flow": run.flow_id, "node": node.id, "msg": message})
