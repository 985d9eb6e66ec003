"""What a feed consumer is: a name (its durable position is kept under it) and a
handler for a batch of committed events."""

from __future__ import annotations

from typing import Protocol

from kith.storage.ports import FeedEntry


class FeedConsumer(Protocol):
    @property
    def name(self) -> str:
        """Stable across releases: the consumer's position is stored under it."""
        ...

    async def handle(self, entries: list[FeedEntry]) -> None:
        """Work on a batch, oldest first. Returning acknowledges the whole batch;
        raising retries it (with backoff), so the work must be idempotent. A
        consumer that cannot process one event should record that and return,
        not raise, or the events after it wait."""
        ...
