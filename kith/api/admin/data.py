"""What the data routers (profiles, sessions, events) share: path ids, time bounds,
and the envelope of a page."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import BeforeValidator, WithJsonSchema

from kith.api.admin.paging import ListPage
from kith.domain.document import Document
from kith.domain.errors import InvalidPayload
from kith.storage.ports import Page

Id = Annotated[str, Path(min_length=1, max_length=256)]

_YEAR = "(?:[0-9]{3}[1-9]|[0-9]{2}[1-9]0|[0-9][1-9]00|[1-9]000)"
_DATE = rf"{_YEAR}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
_HOUR = "(?:[01][0-9]|2[0-3])"
_TIME = rf"{_HOUR}:[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{{1,6}})?)?"
MOMENT_PATTERN = rf"^{_DATE}(?:T{_TIME}(?:Z|[+-]{_HOUR}:[0-5][0-9])?)?$"
"""A time in a query: an ISO-8601 date (`2026-01-31`) or date and time
(`2026-01-31T12:00`, seconds and fractions optional), with `Z` or an offset, or
none for UTC. Exactly what `_moment` takes, so the schema can say it."""


EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)


def utc(moment: datetime) -> datetime:
    """In UTC; a time without an offset is UTC, as everywhere in Kith.

    The first and last hours of year 1 and 9999 with an offset lie outside what
    `datetime` holds in UTC; they become its first or last moment."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return EARLIEST if moment.year == 1 else LATEST


def _moment(value: Any) -> datetime:
    if not isinstance(value, str) or re.fullmatch(MOMENT_PATTERN, value) is None:
        raise ValueError("an ISO-8601 date or time, e.g. 2026-01-31 or 2026-01-31T12:00:00Z")
    return utc(datetime.fromisoformat(value))  # ValueError for a day the calendar lacks


Moment = Annotated[
    datetime,
    BeforeValidator(_moment),
    WithJsonSchema({"type": "string", "pattern": MOMENT_PATTERN}),
]


def time_range(
    start: datetime | None, end: datetime | None, *, names: tuple[str, str] = ("from", "to")
) -> tuple[datetime | None, datetime | None]:
    """Both bounds in UTC; an empty or reversed range is a 422 on the upper bound."""
    start = utc(start) if start is not None else None
    end = utc(end) if end is not None else None
    if start is not None and end is not None and end <= start:
        raise InvalidPayload.at(["query", names[1]], f"`{names[1]}` must be after `{names[0]}`")
    return start, end


def envelope(page: Page[Document]) -> ListPage[Document]:
    return ListPage[Document](items=page.items, next=page.next)
