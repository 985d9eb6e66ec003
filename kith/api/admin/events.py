"""Events: one by id, filtered newest-first lists, and counts per time bucket."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from kith.api.admin.data import EARLIEST, Id, Moment, envelope, time_range
from kith.api.admin.paging import Cursor, Limit, ListPage
from kith.api.admin.responses import responses
from kith.api.auth import require, services_of
from kith.domain.access import Permission
from kith.domain.clock import utcnow
from kith.domain.document import Document
from kith.domain.errors import InvalidPayload
from kith.domain.payload import normalise_event_type
from kith.storage.ports import EventFilter, StatsBy, StatsInterval

router = APIRouter(tags=["data"], dependencies=[Depends(require(Permission.data_read))])

MAX_BUCKETS = 10_000
_WIDTH = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}


@router.get("/events", response_model=ListPage[dict[str, Any]], responses=responses(422))
async def list_events(
    request: Request,
    profile: Annotated[str | None, Query(max_length=256)] = None,
    session: Annotated[str | None, Query(max_length=256)] = None,
    type: Annotated[str | None, Query(max_length=128)] = None,
    source: Annotated[str | None, Query(max_length=256)] = None,
    status: Annotated[str | None, Query(max_length=64)] = None,
    tag: Annotated[str | None, Query(max_length=128)] = None,
    from_: Annotated[Moment | None, Query(alias="from")] = None,
    to: Annotated[Moment | None, Query()] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> ListPage[Document]:
    """Events, newest first, filtered by any combination of the parameters.

    `type`, `source`, `profile`, `session` and the time range are answered from
    indexes; `status` and `tag` are checked on the rows those yield, so pair a
    rare tag with a type or a time range on large stores."""
    start, end = time_range(from_, to)
    where = EventFilter(
        profile=profile.strip() if profile is not None else None,
        session=session.strip() if session is not None else None,
        type=normalise_event_type(type) if type is not None else None,
        source=source.strip().lower() if source is not None else None,
        from_=start,
        to=end,
        status=status.strip().lower() if status is not None else None,
        tag=tag.strip() if tag is not None else None,
    )
    return envelope(await services_of(request).records.events(where, cursor, limit))


@router.get("/events/stats", response_model=dict[str, Any], responses=responses(422))
async def event_stats(
    request: Request,
    interval: StatsInterval = "hour",
    from_: Annotated[Moment | None, Query(alias="from")] = None,
    to: Annotated[Moment | None, Query()] = None,
    by: StatsBy | None = None,
) -> Document:
    """Event counts per `interval` bucket in [from, to) (default: the last 24 hours),
    optionally split `by` type, source or channel. Buckets are aligned to UTC
    minutes, hours or days; every bucket of the range is listed, empty ones with 0."""
    start, end = stats_range(interval, from_, to)
    return await services_of(request).records.event_stats(interval, start, end, by)


def stats_range(
    interval: StatsInterval, from_: datetime | None, to: datetime | None
) -> tuple[datetime, datetime]:
    """[from, to) in UTC, by default the last 24 hours; 422 when empty or when it
    would have more than `MAX_BUCKETS` buckets of `interval`."""
    start, end = time_range(from_, to)
    end = end or utcnow()
    start = start or end - min(timedelta(days=1), end - EARLIEST)
    if end <= start:
        raise InvalidPayload.at(["query", "from"], "`from` must be before `to`")
    if (end - start) / _WIDTH[interval] > MAX_BUCKETS:
        raise InvalidPayload.at(
            ["query", "interval"],
            f"More than {MAX_BUCKETS} {interval} buckets; use a wider interval or a shorter range",
        )
    return start, end


@router.get("/events/{event_id}", response_model=dict[str, Any], responses=responses(404, 422))
async def get_event(event_id: Id, request: Request) -> Document:
    return await services_of(request).records.event(event_id)
