"""Segments and computed traits (API.md section 6)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from kith.api.admin.fields import RequestBody
from kith.api.admin.paging import ListPage
from kith.api.admin.responses import responses
from kith.api.auth import require, services_of
from kith.domain.access import Permission
from kith.domain.computed import KINDS
from kith.domain.payload import normalise_event_type

router = APIRouter(tags=["segments"])
read = [Depends(require(Permission.config_read))]
write = [Depends(require(Permission.segments_write))]
Id = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[^/\s]+$")]


class SegmentFields(RequestBody):
    """What PUT accepts: GET's answer (its `id` and `size` are ignored)."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field("", max_length=200)
    description: str = Field("", max_length=2000)
    enabled: bool = True
    condition: str | None = Field(
        None, max_length=65536, description="Over `profile@` (docs/conditions.md); null: manual"
    )


class SegmentOut(SegmentFields):
    id: str
    size: int | None = None
    job: str | None = Field(None, description="The refresh this save queued")


class JobQueued(BaseModel):
    job: str


class TraitFields(RequestBody):
    model_config = ConfigDict(extra="ignore")

    name: str = Field("", max_length=200)
    kind: Literal["count", "sum", "min", "max", "first", "last", "distinct"]
    event_type: str = Field(..., min_length=1, max_length=128)
    property: str | None = Field(None, max_length=512, description="e.g. `properties.total`")
    window: str | None = Field(None, max_length=16, description="e.g. `30d`; null: all time")


class TraitOut(TraitFields):
    id: str
    job: str | None = Field(None, description="The back-fill this save queued")


assert set(KINDS) == set(TraitFields.model_fields["kind"].annotation.__args__)  # type: ignore[union-attr]


@router.get(
    "/segments",
    response_model=ListPage[SegmentOut],
    dependencies=read,
    responses=responses(404, 422),
)
async def list_segments(request: Request) -> ListPage[SegmentOut]:
    items = [SegmentOut.model_validate(s) for s in await services_of(request).segments.segments()]
    return ListPage[SegmentOut](items=items, next=None)


@router.get(
    "/segments/{segment_id}",
    response_model=SegmentOut,
    dependencies=read,
    responses=responses(404, 422),
)
async def get_segment(segment_id: Id, request: Request) -> SegmentOut:
    """The segment with `size`, the number of profiles in it now."""
    return SegmentOut.model_validate(await services_of(request).segments.segment(segment_id))


@router.put(
    "/segments/{segment_id}",
    response_model=SegmentOut,
    dependencies=write,
    responses=responses(404, 413, 422, 503),
)
async def put_segment(segment_id: Id, body: SegmentFields, request: Request) -> SegmentOut:
    """Create or replace; queues a refresh of every profile (its id is in `job`)."""
    saved, job = await services_of(request).segments.put_segment(segment_id, body.model_dump())
    return SegmentOut.model_validate({**saved, "job": job.id})


@router.delete(
    "/segments/{segment_id}",
    status_code=204,
    dependencies=write,
    responses=responses(404, 422, 503),
)
async def delete_segment(segment_id: Id, request: Request) -> Response:
    await services_of(request).segments.delete_segment(segment_id)
    return Response(status_code=204)


@router.post(
    "/segments/{segment_id}/refresh",
    status_code=202,
    response_model=JobQueued,
    dependencies=write,
    responses=responses(404, 413, 422, 503),
)
async def refresh_segment(segment_id: Id, request: Request) -> JSONResponse:
    """Re-evaluate every profile as a job: 202 `{"job": id}` (see `GET /api/jobs/{id}`)."""
    job = await services_of(request).segments.refresh(segment_id)
    return JSONResponse({"job": job.id}, status_code=202)


@router.get(
    "/computed-traits",
    response_model=ListPage[TraitOut],
    dependencies=read,
    responses=responses(404, 422),
)
async def list_traits(request: Request) -> ListPage[TraitOut]:
    items = [TraitOut.model_validate(t) for t in await services_of(request).segments.traits()]
    return ListPage[TraitOut](items=items, next=None)


@router.get(
    "/computed-traits/{trait_id}",
    response_model=TraitOut,
    dependencies=read,
    responses=responses(404, 422),
)
async def get_trait(trait_id: Id, request: Request) -> TraitOut:
    return TraitOut.model_validate(await services_of(request).segments.trait(trait_id))


@router.put(
    "/computed-traits/{trait_id}",
    response_model=TraitOut,
    dependencies=write,
    responses=responses(404, 413, 422, 503),
)
async def put_trait(trait_id: Id, body: TraitFields, request: Request) -> TraitOut:
    """Create or replace; readable as `profile@computed.<id>`; queues a back-fill (`job`)."""
    trait: dict[str, Any] = body.model_dump()
    trait["event_type"] = normalise_event_type(trait["event_type"])
    saved, job = await services_of(request).segments.put_trait(trait_id, trait)
    return TraitOut.model_validate({**saved, "job": job.id})


@router.delete(
    "/computed-traits/{trait_id}",
    status_code=204,
    dependencies=write,
    responses=responses(404, 422, 503),
)
async def delete_trait(trait_id: Id, request: Request) -> Response:
    await services_of(request).segments.delete_trait(trait_id)
    return Response(status_code=204)
