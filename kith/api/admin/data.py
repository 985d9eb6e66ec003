"""What the data routers (profiles, sessions, events) share: path ids, time bounds,
and the envelope of a page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Path

from kith.api.admin.paging import ListPage
from kith.domain.document import Document
from kith.domain.errors import InvalidPayload
from kith.storage.ports import Page

Id = Annotated[str, Path(max_length=256)]


def utc(moment: datetime | None) -> datetime | None:
    """Query times without an offset are UTC, as everywhere in Kith."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def time_range(
    start: datetime | None, end: datetime | None, *, names: tuple[str, str] = ("from", "to")
) -> tuple[datetime | None, datetime | None]:
    """Both bounds in UTC; an empty or reversed range is a 422 on the upper bound."""
    start, end = utc(start), utc(end)
    if start is not None and end is not None and end <= start:
        raise InvalidPayload.at(["query", names[1]], f"`{names[1]}` must be after `{names[0]}`")
    return start, end


def envelope(page: Page[Document]) -> ListPage[Document]:
    return ListPage[Document](items=page.items, next=page.next)
