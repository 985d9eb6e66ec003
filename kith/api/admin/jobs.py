"""Background jobs: progress of segment refreshes, back-fills and imports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel

from kith.api.admin.paging import Cursor, Limit, ListPage
from kith.api.admin.responses import responses
from kith.api.auth import require, services_of
from kith.domain.access import Permission
from kith.jobs.service import job_view
from kith.storage.ports import JobStatus

router = APIRouter(
    prefix="/jobs", tags=["jobs"], dependencies=[Depends(require(Permission.config_read))]
)


class JobOut(BaseModel):
    id: str
    kind: str
    status: JobStatus
    done: int
    total: int | None
    created: str
    started: str | None
    finished: str | None
    error: str | None
    params: dict[str, object]


@router.get("", response_model=ListPage[JobOut], responses=responses(422))
async def list_jobs(
    request: Request,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> ListPage[JobOut]:
    """Jobs, newest first, optionally of one kind."""
    page = await services_of(request).jobs.page(cursor, limit, kind)
    items = [JobOut.model_validate(job_view(job)) for job in page.items]
    return ListPage[JobOut](items=items, next=page.next)


@router.get("/{job_id}", response_model=JobOut, responses=responses(404, 422))
async def get_job(
    job_id: Annotated[str, Path(min_length=1, max_length=64)], request: Request
) -> JobOut:
    """One job: `status` queued, running, done or failed; `done` of `total` units."""
    return JobOut.model_validate(job_view(await services_of(request).jobs.get(job_id)))
