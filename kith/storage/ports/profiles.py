"""Walking every profile (segment refreshes, trait back-fills) and counting members."""

from __future__ import annotations

from typing import Protocol

from kith.storage.ports.common import Document


class ProfileScan(Protocol):
    async def page(self, after: str, limit: int) -> list[Document]:
        """Profiles with ids after `after`, in id order: a walk that profile updates
        meanwhile cannot reorder, so nothing is visited twice or skipped."""
        ...

    async def count(self) -> int: ...

    async def in_segment(self, segment_id: str) -> int:
        """How many profiles list `segment_id` in their `segments`."""
        ...
