"""Profiles: search, one by any of its ids, its timeline, erasing and exporting a person."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from kith.api.admin.data import Id, envelope, time_range
from kith.api.admin.paging import Cursor, Limit, ListPage
from kith.api.auth import require, services_of
from kith.domain.access import Permission
from kith.domain.document import Document
from kith.domain.payload import normalise_event_type
from kith.storage.ports import EventFilter, ProfileQuery

router = APIRouter(tags=["data"])
reading = [Depends(require(Permission.data_read))]


@router.get("/profiles", response_model=ListPage[dict[str, Any]], dependencies=reading)
async def search_profiles(
    request: Request,
    q: Annotated[str | None, Query(max_length=256)] = None,
    segment: Annotated[str | None, Query(max_length=256)] = None,
    updated_from: datetime | None = None,
    updated_to: datetime | None = None,
    visited_from: datetime | None = None,
    visited_to: datetime | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> ListPage[Document]:
    """Profiles, most recently updated first.

    `q`: a value that exactly equals an identity (an id, a merged id, an e-mail,
    a phone number, any merge-key value) answers from the identity index with
    the profiles owning it; otherwise it is a case-insensitive substring of the
    id, any id in `ids`, an e-mail, a phone, the first or last name, or any
    trait value."""
    updated = time_range(updated_from, updated_to, names=("updated_from", "updated_to"))
    visited = time_range(visited_from, visited_to, names=("visited_from", "visited_to"))
    text = q.strip() if q is not None else None
    where = ProfileQuery(
        q=text or None,
        segment=segment.strip() if segment is not None else None,
        updated_from=updated[0],
        updated_to=updated[1],
        visited_from=visited[0],
        visited_to=visited[1],
    )
    return envelope(await services_of(request).profiles.search(where, cursor, limit))


@router.get("/profiles/{profile_id}", response_model=dict[str, Any], dependencies=reading)
async def get_profile(profile_id: Id, request: Request) -> Document:
    """A profile by its id or any id in its `ids` (merged ids too).

    Consents read as they stand now: an expired grant reads as not granted, and
    a consent type's default applies where the person never decided."""
    return await services_of(request).profiles.get(profile_id)


@router.get(
    "/profiles/{profile_id}/events", response_model=ListPage[dict[str, Any]], dependencies=reading
)
async def profile_events(
    profile_id: Id,
    request: Request,
    type: Annotated[str | None, Query(max_length=128)] = None,
    from_: Annotated[datetime | None, Query(alias="from")] = None,
    to: Annotated[datetime | None, Query()] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> ListPage[Document]:
    """The person's events, newest first: the timeline."""
    start, end = time_range(from_, to)
    where = EventFilter(
        type=normalise_event_type(type) if type is not None else None, from_=start, to=end
    )
    page = await services_of(request).profiles.events(profile_id, where, cursor, limit)
    return envelope(page)


@router.get(
    "/profiles/{profile_id}/sessions",
    response_model=ListPage[dict[str, Any]],
    dependencies=reading,
)
async def profile_sessions(
    profile_id: Id, request: Request, cursor: Cursor = None, limit: Limit = 50
) -> ListPage[Document]:
    """The person's sessions (visits), newest first."""
    return envelope(await services_of(request).profiles.sessions(profile_id, cursor, limit))


@router.delete(
    "/profiles/{profile_id}",
    response_model=dict[str, Any],
    dependencies=[Depends(require(Permission.data_erase))],
)
async def erase_profile(profile_id: Id, request: Request) -> Document:
    """Forget the person: the profile, every id resolving to it, its sessions, its
    events and its identity entries, in one transaction; answers the counts.

    The profile lock is held meanwhile, so a collector request for the person
    either lands before (and is erased) or after (and starts a new profile)."""
    current, erased = await services_of(request).profiles.erase(profile_id)
    return {"id": current, "deleted": asdict(erased)}


@router.get("/profiles/{profile_id}/export", dependencies=reading)
async def export_profile(profile_id: Id, request: Request) -> StreamingResponse:
    """Everything stored about the person as one JSON document, streamed page by page
    so a person with 100,000 events is never held in memory at once:
    `{"exported", "profile", "sessions": [...], "events": [...]}`, newest first."""
    current, chunks = await services_of(request).profiles.export(profile_id)
    return StreamingResponse(
        chunks,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="profile-{current}.json"'},
    )
