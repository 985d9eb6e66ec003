"""The metrics of the parts every Kith process runs: the storage writer, the events
it committed, identity merges, the committed-event feed, background jobs and the
async ingest log.

Each function adds one part's metrics to the registry; `build_services` calls them.
Flows and segments add theirs from their own packages (`kith.workflows.metrics`,
`kith.segments.metrics`), as destinations and plugins will (see `registry`)."""

from __future__ import annotations

from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from kith.feed import FeedRunner
from kith.identity.counters import IdentityCounters
from kith.metrics.registry import MetricsRegistry
from kith.storage.ports import Storage
from kith.tracking.ingest import AsyncIngest, IngestProcessor, ingest_lag
from kith.tracking.stored import StoredEvents

UNITS_PER_COMMIT_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000)


def writer_metrics(metrics: MetricsRegistry, storage: Storage) -> None:
    """The queue is read when scraped; commit sizes are observed by the writer (once per
    commit, not per request). The histogram's `_sum` is the units committed and its
    `_count` the commits."""
    metrics.gauge(
        "kith_writer_queue_depth",
        "Units of work waiting for the storage writer (all workers together).",
        [],
        lambda: [((), storage.writer_stats().queued)],
    )
    sizes = metrics.histogram(
        "kith_writer_units_per_commit",
        "Units of work (requests' writes) committed together in one transaction.",
        [],
        UNITS_PER_COMMIT_BUCKETS,
    )
    storage.observe_commits(sizes.observe)


def stored_event_metrics(metrics: MetricsRegistry, stored: StoredEvents) -> None:
    metrics.counter(
        "kith_events_stored",
        "Events committed, by type (past the configured number of types: `other`) and"
        " source (`@internal` for system events).",
        ["type", "source"],
        stored.by_type_and_source.items,
    )


def identity_metrics(metrics: MetricsRegistry, counters: IdentityCounters) -> None:
    metrics.counter(
        "kith_identity_merges",
        "Merges of profiles found to be one person (collector and back office).",
        [],
        lambda: [((), counters.merges)],
    )
    metrics.counter(
        "kith_identity_merges_refused",
        "Merges and identity claims refused, by the identity rule that refused them.",
        ["rule"],
        lambda: [((rule,), count) for rule, count in counters.refused.items()],
    )


def feed_metrics(metrics: MetricsRegistry, runner: FeedRunner, storage: Storage) -> None:
    status = runner.status
    metrics.counter(
        "kith_feed_events_handled",
        "Committed events a feed consumer handled, by consumer.",
        ["consumer"],
        lambda: [((name,), s.handled) for name, s in status.items()],
    )
    metrics.counter(
        "kith_feed_failures",
        "Failed feed batches (retried), by consumer.",
        ["consumer"],
        lambda: [((name,), s.failures) for name, s in status.items()],
    )
    metrics.gauge(
        "kith_feed_consumer_held",
        "Processes holding the consumer's lease (1 while it runs somewhere).",
        ["consumer"],
        lambda: [((name,), int(s.holding)) for name, s in status.items()],
    )

    async def lag() -> list[Metric]:
        family = GaugeMetricFamily(
            "kith_feed_lag_events",
            "Committed events a feed consumer has not acknowledged yet (approximate on"
            " PostgreSQL, where positions follow commit order).",
            labels=["consumer"],
        )
        if status:
            head = await storage.feed.head()
            positions = await storage.feed.positions()
            for name in status:
                position = positions.get(name)
                behind = head.seq - position.seq if position is not None else 0
                family.add_metric([name], max(0, behind))
        return [family]

    metrics.shared(lag)


def job_metrics(metrics: MetricsRegistry, storage: Storage) -> None:
    async def jobs() -> list[Metric]:
        family = GaugeMetricFamily(
            "kith_jobs",
            "Background jobs (segment refreshes, back-fills ...) by kind and status.",
            labels=["kind", "status"],
        )
        for (kind, status), count in sorted((await storage.jobs.counts()).items()):
            family.add_metric([kind, status], count)
        return [family]

    metrics.shared(jobs)


def ingest_metrics(
    metrics: MetricsRegistry,
    ingest: AsyncIngest,
    processor: IngestProcessor,
    runner: FeedRunner,
    storage: Storage,
) -> None:
    """Async storage: what was accepted and processed (the two rates to compare), and
    how far behind processing is, read from the log itself."""
    metrics.counter(
        "kith_ingest_accepted",
        "Async payloads this process appended to the ingest log and answered.",
        [],
        lambda: [((), ingest.accepted)],
    )
    metrics.counter(
        "kith_ingest_processed",
        "Async payloads this process ran through the pipeline.",
        [],
        lambda: [((), processor.processed)],
    )
    metrics.counter(
        "kith_ingest_dropped",
        "Async payloads dropped: unreadable, of a deleted source, or refused by the pipeline.",
        [],
        lambda: [((), processor.dropped)],
    )
    metrics.counter(
        "kith_ingest_failures",
        "Ingest batches that failed and are retried.",
        [],
        lambda: [((), sum(status.failures for status in runner.status.values()))],
    )

    async def backlog() -> list[Metric]:
        waiting, age = await ingest_lag(storage)
        return [
            GaugeMetricFamily(
                "kith_ingest_backlog", "Async payloads waiting to be processed.", value=waiting
            ),
            GaugeMetricFamily(
                "kith_ingest_lag_seconds",
                "How long the oldest async payload not processed yet has waited.",
                value=age,
            ),
        ]

    metrics.shared(backlog)
