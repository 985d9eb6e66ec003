"""The list envelope every admin list answers with."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=1000, description="Page size (max 1000).")]
Cursor = Annotated[
    str | None, Query(description="The `next` value of the previous page.", max_length=2048)
]


class ListPage(BaseModel, Generic[T]):
    items: list[T]
    next: str | None
