"""Event sources, by id."""

from __future__ import annotations

from typing import Protocol

from kith.domain.source import Source
from kith.storage.ports.common import Page


class SourceStore(Protocol):
    async def get(self, source_id: str) -> Source | None: ...
    async def page(self, cursor: str | None, limit: int) -> Page[Source]: ...
    async def insert(self, source: Source) -> None:
        """Raises `Conflict` when the id is taken."""
        ...

    async def replace(self, source: Source) -> bool: ...
    async def delete(self, source_id: str) -> bool: ...
