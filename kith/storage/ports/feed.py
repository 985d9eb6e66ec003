"""The committed-event feed: every committed event, in commit order, for named consumers.

A consumer (async flows, computed traits, destinations ...) keeps a durable
position and a lease. It reads entries after its position, works on them, then
acknowledges the last one; a consumer that dies before acknowledging reads the
same entries again (at least once), and one whose lease expired (its process
died) is taken over by another process from the acknowledged position."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from kith.storage.ports.common import Document


@dataclass(slots=True, frozen=True, order=True)
class FeedPosition:
    """An ordered point in the feed. SQLite: (0, the event's sequence number);
    PostgreSQL: (the id of the transaction that committed it, its sequence number),
    because sequence numbers are taken before commit and commits finish out of order."""

    txid: int
    seq: int


START = FeedPosition(0, 0)


@dataclass(slots=True, frozen=True)
class FeedEntry:
    position: FeedPosition
    event: Document


class FeedStore(Protocol):
    async def read(self, after: FeedPosition, limit: int) -> list[FeedEntry]:
        """Committed events after `after`, oldest first. Never returns an event while an
        event that sorts before it may still commit, so a consumer never skips one."""
        ...

    async def head(self) -> FeedPosition:
        """The position of the last event a read could return now."""
        ...

    async def claim(
        self, consumer: str, owner: str, lease: float, start: FeedPosition | None = None
    ) -> FeedPosition | None:
        """Take or renew `consumer`'s lease for `owner`; the acknowledged position, or
        None while another owner's lease is live. A new consumer starts at `start`, by
        default the head (it has nothing to catch up on). The table of positions and
        leases also serves other logs read this way (the ingest log)."""
        ...

    async def acknowledge(self, consumer: str, owner: str, position: FeedPosition) -> bool:
        """Store the position durably; False when `owner` no longer holds the lease."""
        ...

    async def release(self, consumer: str, owner: str) -> None:
        """Give the lease up (clean stop), so another process takes over at once."""
        ...

    async def positions(self) -> dict[str, FeedPosition]:
        """Every consumer's acknowledged position, for lag in health and metrics."""
        ...
