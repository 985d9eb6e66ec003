"""A flow's graph: checked and compiled when it is saved, run many times.

Checks (each problem is reported with the node's index and id): node ids are
unique; one `start` node; every node type is known; every config validates
against its type's model (and the node compiles it: conditions, templates);
every edge joins existing nodes from a port its source has; the graph has no
cycle. The compiled form has its nodes in topological order, its node
instances built, and its edges grouped by source and port."""

from __future__ import annotations

import graphlib
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from kith.domain.document import Document
from kith.workflows.node import FlowNode
from kith.workflows.registry import NodeRegistry

OnError = Literal["stop", "continue", "port"]
ON_ERROR: tuple[OnError, ...] = ("stop", "continue", "port")
DEFAULT_TIMEOUT = 5.0
MAX_TIMEOUT = 300.0
Loc = tuple[str | int, ...]


class FlowInvalid(Exception):
    """What is wrong with a flow, as (location in the body, message) pairs."""

    def __init__(self, problems: list[tuple[Loc, str]]) -> None:
        super().__init__("; ".join(message for _, message in problems))
        self.problems = problems


@dataclass(slots=True)
class CompiledNode:
    id: str
    type: str
    impl: FlowNode  # type: ignore[type-arg]
    on_error: OnError
    timeout: float
    io: bool
    joins: bool
    edges: dict[str, list[str]] = field(default_factory=dict)
    """Targets by output port."""


@dataclass(slots=True)
class CompiledFlow:
    id: str
    name: str
    mode: Literal["sync", "async"]
    version: int | None
    start: str
    order: list[str]
    nodes: dict[str, CompiledNode]
    snapshot: bool = False
    """Some node compares with the profile as it was at the start of the run."""


def compile_flow(
    document: Document, registry: NodeRegistry, *, version: int | None = None
) -> CompiledFlow:
    """The runnable form of a flow document; FlowInvalid listing every problem."""
    problems: list[tuple[Loc, str]] = []
    raw_nodes = document.get("nodes") or []
    raw_edges = document.get("edges") or []
    nodes: dict[str, CompiledNode] = {}
    starts: list[str] = []
    for index, raw in enumerate(raw_nodes):
        node = _node(raw, index, registry, nodes, problems)
        if node is not None:
            nodes[node.id] = node
            if node.type == "start":
                starts.append(node.id)
    if len(starts) != 1 and not any(loc[:1] == ("nodes",) for loc, _ in problems):
        problems.append((("nodes",), f"a flow needs exactly one `start` node, found {len(starts)}"))
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for node_id in nodes:
        sorter.add(node_id)
    for index, edge in enumerate(raw_edges):
        _edge(edge, index, nodes, sorter, problems)
    order: list[str] = []
    if not problems:
        try:
            order = list(sorter.static_order())
        except graphlib.CycleError as cycle:
            path = " -> ".join(str(node) for node in reversed(cycle.args[1]))
            problems.append((("edges",), f"the edges make a cycle: {path}"))
    if problems:
        raise FlowInvalid(problems)
    mode = document.get("mode", "sync")
    return CompiledFlow(
        id=str(document.get("id", "")),
        name=str(document.get("name", "")),
        mode="async" if mode == "async" else "sync",
        version=version,
        start=starts[0],
        order=order,
        nodes=nodes,
        snapshot=any(node.impl.snapshot for node in nodes.values()),
    )


def _node(
    raw: Any,
    index: int,
    registry: NodeRegistry,
    seen: dict[str, CompiledNode],
    problems: list[tuple[Loc, str]],
) -> CompiledNode | None:
    where: Loc = ("nodes", index)
    if not isinstance(raw, dict):
        problems.append((where, "a node is an object with `id` and `type`"))
        return None
    node_id, node_type = raw.get("id"), raw.get("type")
    if not isinstance(node_id, str) or not node_id.strip():
        problems.append(((*where, "id"), "a node needs an `id`"))
        return None
    label = f"node {node_id!r}"
    if node_id in seen:
        problems.append(((*where, "id"), f"{label}: the id is used twice"))
        return None
    cls = registry.get(node_type) if isinstance(node_type, str) else None
    if cls is None:
        problems.append(((*where, "type"), f"{label}: unknown node type {node_type!r}"))
        return None
    on_error = raw.get("on_error", "stop")
    if on_error not in ON_ERROR:
        problems.append(((*where, "on_error"), f"{label}: on_error is stop, continue or port"))
        return None
    timeout = raw.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        problems.append(((*where, "timeout"), f"{label}: timeout is a number of seconds"))
        return None
    if not 0 < timeout <= MAX_TIMEOUT:
        problems.append(((*where, "timeout"), f"{label}: timeout must be in (0, {MAX_TIMEOUT}]"))
        return None
    try:
        config = cls.config_model.model_validate(raw.get("config") or {})
        impl = cls(config)
    except ValidationError as error:
        for item in error.errors():
            loc = (*where, "config", *item["loc"])
            problems.append((loc, f"{label}: {item['msg']}"))
        return None
    except ValueError as error:  # the node could not compile its config
        problems.append(((*where, "config"), f"{label}: {error}"))
        return None
    return CompiledNode(
        id=node_id,
        type=cls.type,
        impl=impl,
        on_error=on_error,
        timeout=float(timeout),
        io=cls.io,
        joins=cls.type == "join",
    )


def _edge(
    edge: Any,
    index: int,
    nodes: dict[str, CompiledNode],
    sorter: graphlib.TopologicalSorter[str],
    problems: list[tuple[Loc, str]],
) -> None:
    where: Loc = ("edges", index)
    if not isinstance(edge, dict):
        problems.append((where, "an edge is an object with `from` and `to`"))
        return
    source, target = edge.get("from"), edge.get("to")
    port = edge.get("port") or "out"
    for name, node_id in (("from", source), ("to", target)):
        if not isinstance(node_id, str) or node_id not in nodes:
            problems.append(((*where, name), f"edge {index}: no node {node_id!r}"))
            return
    assert isinstance(source, str) and isinstance(target, str)
    node = nodes[source]
    ports = (*type(node.impl).ports, *(("error",) if node.on_error == "port" else ()))
    if port not in ports:
        problems.append(
            (
                (*where, "port"),
                f"node {source!r} has no port {port!r} (its ports: {', '.join(ports)})",
            )
        )
        return
    if nodes[target].type == "start":
        problems.append(((*where, "to"), f"edge {index}: nothing may lead into `start`"))
        return
    node.edges.setdefault(port, []).append(target)
    sorter.add(target, source)
