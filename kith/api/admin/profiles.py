"""Profiles: search, one by any of its ids, its timeline, erasing and exporting a person."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from kith.api.admin.data import Id, Moment, envelope, time_range
from kith.api.admin.paging import Cursor, Limit, ListPage
from kith.api.admin.responses import responses
from kith.api.auth import require, services_of
from kith.domain.access import Permission
from kith.domain.document import Document
from kith.domain.payload import normalise_event_type
from kith.storage.ports import EventFilter, ProfileQuery

router = APIRouter(tags=["data"])
reading = [Depends(require(Permission.data_read))]


class ErasedCounts(BaseModel):
    profiles: int
    ids: int
    sessions: int
    events: int
    identities: int


class ProfileErased(BaseModel):
    id: str = Field(description="The erased profile's id (the one the given id resolved to).")
    deleted: ErasedCounts = Field(description="Rows deleted, per kind.")


class ProfileExport(BaseModel):
    """Everything stored about one person (the document `GET .../export` streams)."""

    exported: str = Field(description="When the export was made (ISO-8601 UTC).")
    profile: dict[str, Any]
    sessions: list[dict[str, Any]] = Field(description="Newest first.")
    events: list[dict[str, Any]] = Field(description="Newest first.")


@router.get(
    "/profiles",
    response_model=ListPage[dict[str, Any]],
    dependencies=reading,
    responses=responses(422),
)
async def search_profiles(
    request: Request,
    q: Annotated[str | None, Query(max_length=256)] = None,
    segment: Annotated[str | None, Query(max_length=256)] = None,
    updated_from: Moment | None = None,
    updated_to: Moment | None = None,
    visited_from: Moment | None = None,
    visited_to: Moment | None = None,
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


@router.get(
    "/profiles/{profile_id}",
    response_model=dict[str, Any],
    dependencies=reading,
    responses=responses(404, 422),
)
async def get_profile(profile_id: Id, request: Request) -> Document:
    """A profile by its id or any id in its `ids` (merged ids too).

    Consents read as they stand now: an expired grant reads as not granted, and
    a consent type's default applies where the person never decided."""
    return await services_of(request).profiles.get(profile_id)


@router.get(
    "/profiles/{profile_id}/events",
    response_model=ListPage[dict[str, Any]],
    dependencies=reading,
    responses=responses(404, 422),
)
async def profile_events(
    profile_id: Id,
    request: Request,
    type: Annotated[str | None, Query(max_length=128)] = None,
    from_: Annotated[Moment | None, Query(alias="from")] = None,
    to: Annotated[Moment | None, Query()] = None,
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
    responses=responses(404, 422),
)
async def profile_sessions(
    profile_id: Id, request: Request, cursor: Cursor = None, limit: Limit = 50
) -> ListPage[Document]:
    """The person's sessions (visits), newest first."""
    return envelope(await services_of(request).profiles.sessions(profile_id, cursor, limit))


@router.delete(
    "/profiles/{profile_id}",
    response_model=ProfileErased,
    dependencies=[Depends(require(Permission.data_erase))],
    responses=responses(404, 422, 503),
)
async def erase_profile(profile_id: Id, request: Request) -> ProfileErased:
    """Forget the person: the profile, every id resolving to it, its sessions, its
    events and its identity entries, in one transaction; answers the counts.

    The profile lock is held meanwhile, so a collector request for the person
    either lands before (and is erased) or after (and starts a new profile)."""
    current, erased = await services_of(request).profiles.erase(profile_id)
    return ProfileErased(id=current, deleted=ErasedCounts(**asdict(erased)))


@router.get(
    "/profiles/{profile_id}/export",
    response_class=StreamingResponse,
    dependencies=reading,
    responses={
        200: {"model": ProfileExport, "content": {"application/json": {}}},
        **responses(404, 422),
    },
)
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
