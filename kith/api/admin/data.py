"""Reading what the collector stored: profiles, sessions, events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from kith.api.admin.paging import Cursor, Limit, ListPage
from kith.api.auth import require, services_of
from kith.domain.access import Permission
from kith.domain.errors import NotFound
from kith.domain.payload import normalise_event_type
from kith.storage.ports import EventFilter

router = APIRouter(tags=["data"], dependencies=[Depends(require(Permission.data_read))])
Id = Annotated[str, Path(max_length=256)]
Document = dict[str, Any]


def found(document: Document | None, what: str, key: str) -> Document:
    if document is None:
        raise NotFound(f"{what} {key!r} not found")
    return document


@router.get("/profiles/{profile_id}", response_model=dict[str, Any])
async def get_profile(profile_id: Id, request: Request) -> Document:
    """A profile by its id or any id in its `ids` (merged ids too)."""
    storage = services_of(request).storage
    current = await storage.resolve_profile_id(profile_id.strip()) or profile_id.strip()
    return found(await storage.get_profile(current), "Profile", profile_id)


@router.get("/sessions/{session_id}", response_model=dict[str, Any])
async def get_session(session_id: Id, request: Request) -> Document:
    session = await services_of(request).storage.get_session(session_id.strip())
    return found(session, "Session", session_id)


@router.get("/events/{event_id}", response_model=dict[str, Any])
async def get_event(event_id: Id, request: Request) -> Document:
    return found(await services_of(request).storage.get_event(event_id.strip()), "Event", event_id)


@router.get("/events", response_model=ListPage[dict[str, Any]])
async def list_events(
    request: Request,
    profile: Annotated[str | None, Query(max_length=256)] = None,
    session: Annotated[str | None, Query(max_length=256)] = None,
    type: Annotated[str | None, Query(max_length=128)] = None,
    source: Annotated[str | None, Query(max_length=256)] = None,
    from_: Annotated[datetime | None, Query(alias="from")] = None,
    to: Annotated[datetime | None, Query()] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> ListPage[Document]:
    """Events, newest first, filtered by any combination of the parameters."""
    storage = services_of(request).storage
    if profile is not None:
        profile = await storage.resolve_profile_id(profile.strip()) or profile.strip()
    where = EventFilter(
        profile=profile,
        session=session.strip() if session is not None else None,
        type=normalise_event_type(type) if type is not None else None,
        source=source.strip().lower() if source is not None else None,
        from_=from_,
        to=to,
    )
    page = await storage.list_events(where, cursor, limit)
    return ListPage[Document](items=page.items, next=page.next)
