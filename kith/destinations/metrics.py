"""What the sender counts per destination, for `GET /api/destinations/{id}` and `/metrics`.

Counters are this process's since it started (a Prometheus scrape adds them up
over processes); the queue's own figures (pending, delivered, dead, retries, the
oldest pending delivery's age) come from the store, so they hold across
processes and restarts."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from kith.domain.document import Document
from kith.storage.ports import DeliveryStats


@dataclass(slots=True)
class DestinationMetrics:
    attempts: int = 0
    delivered: int = 0
    dead: int = 0
    retried: int = 0
    """Attempts that failed and were scheduled again."""
    in_flight: int = 0
    last_status: int | None = None
    last_error: str | None = None

    def document(self) -> Document:
        return asdict(self)


def stats_document(stats: DeliveryStats, process: DestinationMetrics | None) -> Document:
    """The `stats` object of a destination: the queue's figures and this process's."""
    age = None
    if stats.oldest_pending is not None:
        age = round(max(0, stats.now - stats.oldest_pending) / 1_000_000, 3)
    return {
        "pending": stats.pending,
        "delivered": stats.delivered,
        "dead": stats.dead,
        "retries": stats.retries,
        "oldest_pending_age": age,
        "process": (process or DestinationMetrics()).document(),
    }
