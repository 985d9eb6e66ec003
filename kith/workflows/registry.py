"""The node registry: every node type, found through the entry-point group `kith.nodes`.

Kith's own nodes register exactly as a plugin package's do: an entry point in
the group names a list of `FlowNode` subclasses (`kith.workflows.nodes.control:NODES`
...). A plugin adds its own entry point; nothing else is needed."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from importlib.metadata import entry_points

from kith.domain.document import Document
from kith.workflows.node import FlowNode

log = logging.getLogger(__name__)
GROUP = "kith.nodes"
NodeClass = type[FlowNode]  # type: ignore[type-arg]


class NodeRegistry:
    def __init__(self, nodes: Iterable[NodeClass] = ()) -> None:
        self._nodes: dict[str, NodeClass] = {}
        for node in nodes:
            self.add(node)

    @classmethod
    def installed(cls) -> NodeRegistry:
        """Every node type of every installed package's `kith.nodes` entry points."""
        registry = cls()
        for point in sorted(entry_points(group=GROUP), key=lambda p: p.name):
            try:
                nodes = point.load()
            except Exception:  # a broken plugin must not take the built-ins down
                log.exception("could not load the node plugin %s (%s)", point.name, point.value)
                continue
            for node in nodes:
                registry.add(node)
        return registry

    def add(self, node: NodeClass) -> None:
        if node.type in self._nodes and self._nodes[node.type] is not node:
            raise ValueError(f"node type {node.type!r} is registered twice")
        self._nodes[node.type] = node

    def get(self, node_type: str) -> NodeClass | None:
        return self._nodes.get(node_type)

    def types(self) -> list[str]:
        return sorted(self._nodes)

    def describe(self) -> list[Document]:
        """Every node type for `GET /api/nodes`: ports, config schema, docs."""
        return [
            {
                "type": node.type,
                "name": node.name,
                "family": node.family,
                "ports": list(node.ports),
                "io": node.io,
                "config_schema": node.config_model.model_json_schema(),
                "docs": node.docs(),
            }
            for node in (self._nodes[name] for name in self.types())
        ]
