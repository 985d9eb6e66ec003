"""Redirect links: tracked links that answer 302 (`GET /redirect/{id}`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import ConfigDict, Field

from kith.api.admin.fields import RequestBody
from kith.api.admin.paging import ListPage
from kith.api.admin.responses import responses
from kith.api.auth import require, services_of
from kith.domain.access import Permission
from kith.domain.payload import normalise_event_type
from kith.domain.source import normalise_source_id

router = APIRouter(prefix="/redirects", tags=["redirects"])
read = [Depends(require(Permission.config_read))]
write = [Depends(require(Permission.config_write))]
RedirectId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[^/\s]+$")]


class RedirectFields(RequestBody):
    model_config = ConfigDict(extra="ignore")

    url: str = Field(..., min_length=8, max_length=4096, description="http(s) target")
    event_type: str = Field("redirect", min_length=1, max_length=128)
    source: str = Field(..., min_length=1, max_length=256, description="A `redirect` source")
    properties: dict[str, Any] = Field(default_factory=dict)


class RedirectOut(RedirectFields):
    id: str


@router.get(
    "", response_model=ListPage[RedirectOut], dependencies=read, responses=responses(404, 422)
)
async def list_redirects(request: Request) -> ListPage[RedirectOut]:
    items = [RedirectOut.model_validate(r) for r in await services_of(request).redirects.all()]
    return ListPage[RedirectOut](items=items, next=None)


@router.get(
    "/{redirect_id}", response_model=RedirectOut, dependencies=read, responses=responses(404, 422)
)
async def get_redirect(redirect_id: RedirectId, request: Request) -> RedirectOut:
    return RedirectOut.model_validate(await services_of(request).redirects.get(redirect_id))


@router.put(
    "/{redirect_id}",
    response_model=RedirectOut,
    dependencies=write,
    responses=responses(404, 413, 422, 503),
)
async def put_redirect(
    redirect_id: RedirectId, body: RedirectFields, request: Request
) -> RedirectOut:
    """Create or replace; `GET /redirect/{id}` then stores `event_type` and answers 302."""
    redirect = body.model_dump()
    redirect["event_type"] = normalise_event_type(redirect["event_type"])
    redirect["source"] = normalise_source_id(redirect["source"])
    return RedirectOut.model_validate(
        await services_of(request).redirects.put(redirect_id, redirect)
    )


@router.delete(
    "/{redirect_id}", status_code=204, dependencies=write, responses=responses(404, 422, 503)
)
async def delete_redirect(redirect_id: RedirectId, request: Request) -> Response:
    await services_of(request).redirects.delete(redirect_id)
    return Response(status_code=204)
