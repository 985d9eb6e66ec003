"""Erasing a person, and reading whole tables out in time order (bulk export)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from kith.storage.ports.common import Document, Page

DataTable = Literal["profiles", "sessions", "events"]


@dataclass(slots=True, frozen=True)
class Erased:
    """What erasing a person deleted, row counts per kind."""

    profiles: int
    ids: int
    sessions: int
    events: int
    identities: int


class ErasureStore(Protocol):
    async def erase_profile(self, profile_id: str) -> Erased | None:
        """Delete the person in one transaction; None when there is no such profile."""
        ...

    async def export_page(
        self,
        table: DataTable,
        from_: datetime | None,
        to: datetime | None,
        cursor: str | None,
        limit: int,
    ) -> Page[Document]: ...
    async def count_rows(
        self, table: DataTable, from_: datetime | None, to: datetime | None
    ) -> int: ...
