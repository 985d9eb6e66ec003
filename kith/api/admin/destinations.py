"""Destinations: durable, retried delivery to other systems (API.md section 7)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import ConfigDict, Field, field_validator

from kith.api.admin.data import Moment
from kith.api.admin.fields import RequestBody, Whole
from kith.api.admin.paging import Cursor, Limit, ListPage
from kith.api.admin.responses import responses
from kith.api.auth import require, services_of
from kith.domain.access import Permission
from kith.domain.clock import micros
from kith.domain.payload import normalise_event_type
from kith.domain.source import normalise_source_id
from kith.storage.ports import DeliveryStatus

router = APIRouter(prefix="/destinations", tags=["destinations"])
kinds_router = APIRouter(prefix="/destination-kinds", tags=["destinations"])
access = [Depends(require(Permission.destinations))]
DestinationId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[^/\s]+$")]


class DestinationFields(RequestBody):
    """What PUT accepts: GET's answer (its `id`, `stats` are ignored)."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field("", max_length=200)
    enabled: bool = True
    kind: str = Field(..., min_length=1, max_length=64, description="GET /api/destination-kinds")
    on: Literal["event", "profile"] = "event"
    event_types: list[str] = Field(default_factory=list, max_length=1000)
    sources: list[str] = Field(default_factory=list, max_length=1000)
    condition: str | None = Field(None, max_length=65536, description="docs/conditions.md")
    mapping: dict[str, Any] | None = Field(
        None, description="An object template; null: `{event, profile}`."
    )
    config: dict[str, Any] = Field(default_factory=dict, description="The kind's settings.")
    max_age: float | None = Field(
        None, gt=0, le=30 * 86400, description="Seconds a delivery is retried for."
    )
    concurrency: Annotated[int, Field(ge=1, le=256), Whole] | None = Field(
        None, description="Sends at a time."
    )
    debounce: float | None = Field(
        None, ge=0, le=86400, description="Seconds (`on: profile`): one send per window."
    )

    @field_validator("event_types")
    @classmethod
    def types_normalised(cls, value: list[str]) -> list[str]:
        return sorted({normalise_event_type(t) for t in value if t.strip()})

    @field_validator("sources")
    @classmethod
    def sources_normalised(cls, value: list[str]) -> list[str]:
        return sorted({normalise_source_id(s) for s in value if s.strip()})


class ReplayBody(RequestBody):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    status: Literal["dead", "delivered"] = "dead"
    from_: Moment | None = Field(None, alias="from", description="On `created`, inclusive.")
    to: Moment | None = Field(None, description="On `created`, inclusive.")


@router.get(
    "", response_model=ListPage[dict[str, Any]], dependencies=access, responses=responses(422)
)
async def list_destinations(request: Request) -> ListPage[dict[str, Any]]:
    """Every destination, secrets shown as `***`."""
    items = await services_of(request).destinations.destinations()
    return ListPage[dict[str, Any]](items=items, next=None)


@router.get(
    "/{destination_id}",
    response_model=dict[str, Any],
    dependencies=access,
    responses=responses(404, 422),
)
async def get_destination(destination_id: DestinationId, request: Request) -> dict[str, Any]:
    """The destination (secrets `***`) with `stats`: its queue and this process's sender."""
    return await services_of(request).destinations.destination(destination_id)


@router.put(
    "/{destination_id}",
    response_model=dict[str, Any],
    dependencies=access,
    responses=responses(413, 422, 503),
)
async def put_destination(
    destination_id: DestinationId, body: DestinationFields, request: Request
) -> dict[str, Any]:
    """Create or replace. A secret sent as `***` or left out keeps the stored one; a
    generated webhook secret is in this answer, and never again."""
    return await services_of(request).destinations.put(destination_id, body.model_dump())


@router.delete(
    "/{destination_id}",
    status_code=204,
    dependencies=access,
    responses=responses(404, 422, 503),
)
async def delete_destination(destination_id: DestinationId, request: Request) -> Response:
    """The destination and its queued deliveries."""
    await services_of(request).destinations.delete(destination_id)
    return Response(status_code=204)


@router.get(
    "/{destination_id}/deliveries",
    response_model=ListPage[dict[str, Any]],
    dependencies=access,
    responses=responses(404, 422),
)
async def list_deliveries(
    destination_id: DestinationId,
    request: Request,
    status: Annotated[DeliveryStatus | None, Query()] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> ListPage[dict[str, Any]]:
    """Newest first."""
    page = await services_of(request).destinations.deliveries(destination_id, status, cursor, limit)
    return ListPage[dict[str, Any]](items=page.items, next=page.next)


@router.post(
    "/{destination_id}/replay",
    response_model=dict[str, int],
    dependencies=access,
    responses=responses(404, 413, 422, 503),
)
async def replay_deliveries(
    destination_id: DestinationId, body: ReplayBody, request: Request
) -> dict[str, int]:
    """Queue again the deliveries of `status` (default dead) created in [from, to]."""
    queued = await services_of(request).destinations.replay(
        destination_id,
        body.status,
        micros(body.from_) if body.from_ else None,
        micros(body.to) if body.to else None,
    )
    return {"queued": queued}


@router.post(
    "/{destination_id}/test",
    response_model=dict[str, Any],
    dependencies=access,
    responses=responses(404, 422, 503),
)
async def test_destination(destination_id: DestinationId, request: Request) -> dict[str, Any]:
    """Send one sample payload now and answer what the receiver said."""
    return await services_of(request).destinations.test(destination_id)


@kinds_router.get(
    "",
    response_model=list[dict[str, Any]],
    dependencies=access,
    responses=responses(422),
)
async def list_kinds(request: Request) -> list[dict[str, Any]]:
    """Every destination kind: its config schema, secret fields and docs."""
    return services_of(request).destinations.kinds()
