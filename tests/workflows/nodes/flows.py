"""Running node types the way a deployed flow runs them: compile_flow, then execute."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

import httpx2 as httpx

from kith.domain.clock import utcnow
from kith.domain.document import Document
from kith.workflows.engine import execute
from kith.workflows.graph import compile_flow
from kith.workflows.registry import NodeRegistry
from kith.workflows.run import FlowRun, TraceEntry
from kith.workflows.services import NodeServices

Json = dict[str, Any]
START: Json = {"id": "start", "type": "start"}


def chain(*nodes: Json) -> list[Json]:
    """Edges start -> nodes[0] -> nodes[1] ... on default ports."""
    ids = ["start", *(node["id"] for node in nodes)]
    return [{"from": a, "to": b} for a, b in itertools.pairwise(ids)]


def node(node_id: str, node_type: str, config: Json | None = None, **extra: Any) -> Json:
    return {"id": node_id, "type": node_type, **({"config": config} if config else {}), **extra}


def new_profile_doc(**fields: Any) -> Document:
    return {"id": "p1", "ids": ["p1"], "traits": {}, "segments": [], "interests": {}, **fields}


async def run_flow(
    nodes: list[Json],
    edges: list[Json] | None = None,
    *,
    event: Document | None = None,
    profile: Document | None = None,
    session: Document | None = None,
    services: NodeServices | None = None,
    now: datetime | None = None,
    payload: Any = None,
    profileless: bool = False,
) -> FlowRun:
    """Run a flow of `nodes` (after a `start` node; chained on default ports unless
    `edges` are given) on one event; `profile` defaults to a fresh one, none with
    `profileless`."""
    document = {
        "id": "f",
        "nodes": [START, *nodes],
        "edges": chain(*nodes) if edges is None else edges,
    }
    flow = compile_flow(document, NodeRegistry.installed(), version=1)
    event = event if event is not None else {"id": "e1", "type": "page-view", "properties": {}}
    async with httpx.AsyncClient() as client:
        run = FlowRun(
            flow_id="f",
            version=1,
            run_id="r1",
            event=event,
            profile=None if profileless else new_profile_doc() if profile is None else profile,
            session=session,
            now=now or utcnow(),
            services=services or NodeServices(storage=None, http=client),  # type: ignore[arg-type]
        )
        await execute(flow, run, event if payload is None else payload)
    return run


def entry(run: FlowRun, node_id: str) -> TraceEntry:
    """The one trace entry of `node_id`."""
    (found,) = [item for item in run.trace if item.node == node_id]
    return found


def output(run: FlowRun, node_id: str) -> tuple[str | None, Any]:
    found = entry(run, node_id)
    assert found.error is None, found.error
    return found.output_port, found.output
