"""Flows (draft, deploy, versions, debug, recent runs) and the node types they use."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import ConfigDict, Field

from kith.api.admin.fields import RequestBody
from kith.api.admin.paging import ListPage
from kith.api.admin.responses import responses
from kith.api.auth import require, services_of
from kith.domain.access import Permission

router = APIRouter(tags=["flows"])
read = [Depends(require(Permission.config_read))]
write = [Depends(require(Permission.config_write))]
FlowId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[^/\s]+$")]


class NodeSpec(RequestBody):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(..., min_length=1, max_length=128)
    type: str = Field(..., min_length=1, max_length=128)
    config: dict[str, Any] = Field(default_factory=dict)
    on_error: Literal["stop", "continue", "port"] = "stop"
    timeout: float = Field(5.0, gt=0, le=300, description="Seconds (nodes that wait on I/O).")


class EdgeSpec(RequestBody):
    model_config = ConfigDict(extra="forbid")

    from_: str = Field(..., alias="from", min_length=1, max_length=128)
    to: str = Field(..., min_length=1, max_length=128)
    port: str | None = Field(None, max_length=64, description="Default: `out`.")


class FlowFields(RequestBody):
    """What PUT accepts: GET's answer (read-only fields are ignored)."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field("", max_length=200)
    description: str = Field("", max_length=4000)
    mode: Literal["sync", "async"] = "sync"
    nodes: list[NodeSpec] = Field(..., min_length=1, max_length=500)
    edges: list[EdgeSpec] = Field(default_factory=list, max_length=2000)


class FlowOut(FlowFields):
    id: str
    version: int
    deployed_version: int | None
    updated: str


class DebugBody(RequestBody):
    model_config = ConfigDict(extra="forbid")

    event: dict[str, Any] | None = None
    profile: dict[str, Any] | None = None
    session: dict[str, Any] | None = None
    event_id: str | None = Field(None, max_length=256)


def _graph(body: FlowFields) -> dict[str, Any]:
    return body.model_dump(by_alias=True)


@router.get(
    "/flows", response_model=ListPage[FlowOut], dependencies=read, responses=responses(404, 422)
)
async def list_flows(request: Request) -> ListPage[FlowOut]:
    flows = await services_of(request).flows.flows()
    return ListPage[FlowOut](items=[FlowOut.model_validate(f) for f in flows], next=None)


@router.get(
    "/flows/{flow_id}", response_model=FlowOut, dependencies=read, responses=responses(404, 422)
)
async def get_flow(flow_id: FlowId, request: Request) -> FlowOut:
    """The draft, with `version` (of the draft) and `deployed_version` (null: never deployed)."""
    return FlowOut.model_validate(await services_of(request).flows.flow(flow_id))


@router.put(
    "/flows/{flow_id}",
    response_model=FlowOut,
    dependencies=write,
    responses=responses(404, 413, 422, 503),
)
async def put_flow(flow_id: FlowId, body: FlowFields, request: Request) -> FlowOut:
    """Save the draft; 422 naming the node for a cycle, an unknown node type, a port the
    node does not have, or a config that breaks the node's schema."""
    saved = await services_of(request).flows.put_flow(flow_id, _graph(body))
    return FlowOut.model_validate(saved)


@router.post(
    "/flows/{flow_id}/deploy",
    response_model=FlowOut,
    dependencies=write,
    responses=responses(404, 413, 422, 503),
)
async def deploy_flow(flow_id: FlowId, request: Request) -> FlowOut:
    """Make the draft the live version; rules run deployed versions only."""
    return FlowOut.model_validate(await services_of(request).flows.deploy(flow_id))


@router.delete(
    "/flows/{flow_id}", status_code=204, dependencies=write, responses=responses(404, 422, 503)
)
async def delete_flow(flow_id: FlowId, request: Request) -> Response:
    await services_of(request).flows.delete_flow(flow_id)
    return Response(status_code=204)


@router.get(
    "/flows/{flow_id}/versions",
    response_model=list[dict[str, Any]],
    dependencies=read,
    responses=responses(404, 422),
)
async def flow_versions(flow_id: FlowId, request: Request) -> list[dict[str, Any]]:
    """Every deployed version, newest first."""
    return await services_of(request).flows.versions(flow_id)


@router.get(
    "/flows/{flow_id}/runs",
    response_model=list[dict[str, Any]],
    dependencies=read,
    responses=responses(404, 422),
)
async def flow_runs(flow_id: FlowId, request: Request) -> list[dict[str, Any]]:
    """The flow's most recent runs in this process, newest first, with their traces."""
    return await services_of(request).flows.runs(flow_id)


@router.post(
    "/flows/{flow_id}/debug",
    response_model=dict[str, Any],
    dependencies=write,
    responses=responses(404, 413, 422, 503),
)
async def debug_flow(flow_id: FlowId, body: DebugBody, request: Request) -> dict[str, Any]:
    """Run the draft on the given event (or a stored one, `event_id`) and documents;
    nothing is stored. Nodes that call other systems do call them."""
    return await services_of(request).flows.debug(
        flow_id, body.event, body.profile, body.session, body.event_id
    )


@router.get(
    "/nodes", response_model=list[dict[str, Any]], dependencies=read, responses=responses(404, 422)
)
async def list_nodes(request: Request) -> list[dict[str, Any]]:
    """Every node type: ports, config JSON schema and docs."""
    return services_of(request).flows.nodes()
