"""The ingest log of async storage: payloads acknowledged before they are processed.

A payload sent with `options.async` (or to a source whose default is async) is
appended here, durably, in one group commit, and answered at once; the ingest
processor (`kith.tracking.ingest`) runs the pipeline on it moments later. The
processor keeps its position and lease in the feed's consumer table (name
`@ingest`); positions are ordered and never skipped, exactly like the feed's."""

from __future__ import annotations

from typing import Protocol

from kith.storage.ports.common import Document
from kith.storage.ports.feed import FeedPosition

INGEST_CONSUMER = "@ingest"


class IngestLog(Protocol):
    async def append(self, entries: list[Document]) -> None:
        """Store the entries durably; returns once they are committed."""
        ...

    async def read(self, after: FeedPosition, limit: int) -> list[tuple[FeedPosition, Document]]:
        """Entries after `after`, oldest first, never passing one that may still commit."""
        ...

    async def trim(self, through: FeedPosition) -> None:
        """Forget the entries up to `through`: they are processed."""
        ...

    async def backlog(self) -> int:
        """How many entries wait to be processed (a count of the log)."""
        ...
