"""Sessions (visits): one by id, or a newest-first list by profile and start time."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from kith.api.admin.data import Document, Id, envelope, found, time_range
from kith.api.admin.paging import Cursor, Limit, ListPage
from kith.api.auth import require, services_of
from kith.domain.access import Permission
from kith.storage.ports import SessionFilter

router = APIRouter(tags=["data"], dependencies=[Depends(require(Permission.data_read))])


@router.get("/sessions", response_model=ListPage[dict[str, Any]])
async def list_sessions(
    request: Request,
    profile: Annotated[str | None, Query(max_length=256)] = None,
    from_: Annotated[datetime | None, Query(alias="from")] = None,
    to: Annotated[datetime | None, Query()] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> ListPage[Document]:
    """Sessions newest first (by start time), of one profile and/or started in [from, to)."""
    storage = services_of(request).storage
    if profile is not None:
        profile = await storage.resolve_profile_id(profile.strip()) or profile.strip()
    start, end = time_range(from_, to)
    page = await storage.list_sessions(SessionFilter(profile, start, end), cursor, limit)
    return envelope(page)


@router.get("/sessions/{session_id}", response_model=dict[str, Any])
async def get_session(session_id: Id, request: Request) -> Document:
    session = await services_of(request).storage.get_session(session_id.strip())
    return found(session, "Session", session_id)
