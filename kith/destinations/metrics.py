"""What the sender counts per destination, for `GET /api/destinations/{id}` and `/metrics`.

Counters are this process's since it started (a Prometheus scrape adds them up
over processes); the queue's own figures (pending, delivered, dead, retries, the
oldest pending delivery's age) come from the store, so they hold across
processes and restarts."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from kith.domain.document import Document
from kith.metrics import MetricsRegistry
from kith.storage.ports import DeliveryStats, Storage

if TYPE_CHECKING:
    from kith.destinations.sender import DeliverySender


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


def delivery_metrics(metrics: MetricsRegistry, sender: DeliverySender, storage: Storage) -> None:
    """Deliveries for `/metrics`: what this process's sender did, by destination and
    outcome, and the queue as the store holds it (pending, dead, the oldest pending
    delivery's age), read by the process that is scraped."""

    def finished() -> list[tuple[tuple[str, str], float]]:
        return [
            ((destination, outcome), float(getattr(figures, outcome)))
            for destination, figures in list(sender.metrics.items())
            for outcome in ("delivered", "dead", "retried", "attempts")
        ]

    metrics.counter(
        "kith_deliveries",
        "Delivery attempts and outcomes of this process, by destination and outcome"
        " (delivered, dead, retried, attempts).",
        ["destination", "outcome"],
        finished,
    )

    async def queue() -> list[Metric]:
        waiting = GaugeMetricFamily(
            "kith_deliveries_queued",
            "Deliveries in the store by destination and status (pending, dead).",
            labels=["destination", "status"],
        )
        oldest = GaugeMetricFamily(
            "kith_delivery_oldest_pending_seconds",
            "Age of the oldest pending delivery, by destination.",
            labels=["destination"],
        )
        for destination in sorted(sender.metrics):
            stats = await storage.deliveries.stats(destination)
            waiting.add_metric([destination, "pending"], stats.pending)
            waiting.add_metric([destination, "dead"], stats.dead)
            age = 0.0
            if stats.oldest_pending is not None:
                age = max(0.0, (stats.now - stats.oldest_pending) / 1e6)
            oldest.add_metric([destination], age)
        return [waiting, oldest]

    metrics.shared(queue)
