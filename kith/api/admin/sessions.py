"""Sessions (visits): one by id, or a newest-first list by profile and start time."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from kith.api.admin.data import Id, Moment, envelope, time_range
from kith.api.admin.paging import Cursor, Limit, ListPage
from kith.api.admin.responses import responses
from kith.api.auth import require, services_of
from kith.domain.access import Permission
from kith.domain.document import Document
from kith.storage.ports import SessionFilter

router = APIRouter(tags=["data"], dependencies=[Depends(require(Permission.data_read))])


@router.get("/sessions", response_model=ListPage[dict[str, Any]], responses=responses(422))
async def list_sessions(
    request: Request,
    profile: Annotated[str | None, Query(max_length=256)] = None,
    device: Annotated[
        str | None, Query(max_length=256, description="The payload's device.id")
    ] = None,
    from_: Annotated[Moment | None, Query(alias="from")] = None,
    to: Annotated[Moment | None, Query()] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> ListPage[Document]:
    """Sessions newest first (by start time), of one profile, one device (the payload's
    `device.id`) and/or started in [from, to)."""
    start, end = time_range(from_, to)
    where = SessionFilter(
        profile.strip() if profile is not None else None,
        start,
        end,
        device.strip() if device is not None else None,
    )
    return envelope(await services_of(request).records.sessions(where, cursor, limit))


@router.get("/sessions/{session_id}", response_model=dict[str, Any], responses=responses(404, 422))
async def get_session(session_id: Id, request: Request) -> Document:
    return await services_of(request).records.session(session_id)
