"""What a feed consumer is: a name (its durable position is kept under it) and a
handler for a batch of committed events."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

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


@runtime_checkable
class Skippable(Protocol):
    """A consumer that can say it has nothing to do with any event right now (no
    async rule deployed, say): the runner then moves its position to the head of
    the feed without reading and decoding the events in between."""

    async def idle(self) -> bool: ...
