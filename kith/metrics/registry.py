"""The metrics of one Kith process, and the one way every part of Kith adds to them.

Kith's parts already count what they do: the writer its units and commits, the
identity counters their merges, the flow run log its runs. `/metrics` reads those
counters when it is scraped rather than making the request path increment a second
set, so a subsystem hands the registry a *reader*, a function of no arguments
returning its current numbers by label values, and the registry turns them into
Prometheus families. There are three kinds:

- `counter(name, help, labels, read)` and `gauge(...)`: numbers this process keeps.
  `read()` returns `((label value, ...), number)` pairs, a dict's `items` for
  instance (the labels are `()` for a metric without labels). Counters are running
  totals that never go down; gauges are levels, and the workers' gauges are summed.
- `histogram(name, help, labels, buckets)`: a distribution (latencies, sizes) cannot
  be read back from a total, so the subsystem observes the returned prometheus_client
  `Histogram` itself; keep it off hot loops, or cache its `labels(...)` children.
- `shared(read)`: numbers of the whole installation read from storage (feed lag,
  jobs by status, the oldest pending delivery). `read` is async and returns finished
  families (`GaugeMetricFamily` ...); the process that answers the scrape computes
  them, so they are never summed over workers.

How a subsystem adds its metrics, e.g. destinations: a function in its own package,
called by `build_services` beside the others (see `kith.metrics.builtin`):

    def delivery_metrics(metrics: MetricsRegistry, sender: Sender, storage: Storage) -> None:
        metrics.counter(
            "kith_deliveries",
            "Deliveries this process finished, by destination and status.",
            ["destination", "status"],
            sender.finished.items,  # {("crm-hook", "delivered"): 12, ...}
        )

        async def oldest() -> list[Metric]:
            family = GaugeMetricFamily(
                "kith_delivery_oldest_pending_seconds",
                "Age of the oldest delivery waiting, by destination.",
                labels=["destination"],
            )
            for destination, age in (await storage.deliveries.oldest_pending()).items():
                family.add_metric([destination], age)
            return [family]

        metrics.shared(oldest)

A plugin package does the same from an entry point in the group `kith.metrics`,
naming a function `(metrics: MetricsRegistry, services: Services) -> None`:

    [project.entry-points."kith.metrics"]
    my_plugin = "my_plugin.metrics:register"

Keep label values bounded (route templates, configured ids, a capped set of client
values with the rest as `other`): every distinct label set is a time series.

With `kith serve --workers N` every worker keeps its own numbers, and a scrape
reaches one worker. So each worker writes its counters, gauges and histograms to
files of its own in one directory (prometheus_client's multiprocess mode, see
`kith.metrics.multiprocess`) and the worker that is scraped sums every file. Read
counters and gauges reach the files when the worker is scraped and every
`publish_every` seconds; histograms at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.metrics_core import Metric

from kith.metrics import multiprocess

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from kith.services import Services

log = logging.getLogger(__name__)

Labels = tuple[str, ...]
Reader = Callable[[], Iterable[tuple[Labels, float]]]
"""Returns `(label values, number)` pairs, e.g. a dict's `items`."""
SharedReader = Callable[[], Awaitable[Iterable[Metric]]]
PLUGIN_GROUP = "kith.metrics"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The classic text format, which every Prometheus version reads."""


@dataclass(slots=True)
class _Read:
    """A counter or gauge fed by a reader, and what was last published of it."""

    metric: Counter | Gauge
    read: Reader
    published: dict[Labels, float] = field(default_factory=dict)

    def child(self, key: Labels) -> Any:
        return self.metric.labels(*key) if key else self.metric


@dataclass(slots=True)
class _Families:
    """Families read at scrape time, in the shape `generate_latest` takes."""

    families: list[Metric]

    def collect(self) -> Iterable[Metric]:
        return self.families


class MetricsRegistry:
    def __init__(self, *, multiprocess_dir: Path | None = None, publish_every: float = 1.0) -> None:
        """`multiprocess_dir`: the directory of `kith serve --workers N` (None: one process)."""
        if multiprocess_dir is not None:
            multiprocess.check_mode(multiprocess_dir)
        # prometheus_client's one switch for it: without `_created` series one process
        # exposes what several workers do (their files never carry them), at half the size
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.multiprocess_dir = multiprocess_dir
        self._publish_every = publish_every
        self._registry = CollectorRegistry(auto_describe=True)
        self._histograms: dict[str, Histogram] = {}
        self._counters: list[_Read] = []
        self._gauges: list[_Read] = []
        self._shared: list[SharedReader] = []
        self._task: asyncio.Task[None] | None = None

    def counter(self, name: str, documentation: str, labels: Sequence[str], read: Reader) -> None:
        """A running total this process keeps (exposed as `<name>_total`)."""
        metric = Counter(name, documentation, list(labels), registry=self._registry)
        self._counters.append(_Read(metric, read))

    def gauge(self, name: str, documentation: str, labels: Sequence[str], read: Reader) -> None:
        """A level this process keeps; with several workers, the live workers' sum."""
        metric = Gauge(
            name, documentation, list(labels), registry=self._registry, multiprocess_mode="livesum"
        )
        self._gauges.append(_Read(metric, read))

    def histogram(
        self, name: str, documentation: str, labels: Sequence[str], buckets: Sequence[float]
    ) -> Histogram:
        """A distribution the caller observes; asking twice for one name gives the same one."""
        found = self._histograms.get(name)
        if found is None:
            found = self._histograms[name] = Histogram(
                name, documentation, list(labels), buckets=list(buckets), registry=self._registry
            )
        return found

    def shared(self, read: SharedReader) -> None:
        """Families of the whole installation, read from storage by the scraped process."""
        self._shared.append(read)

    def install_plugins(
        self, services: Services, entry_points: Iterable[EntryPoint] | None = None
    ) -> None:
        """Let every installed `kith.metrics` entry point add its metrics."""
        if entry_points is None:
            from importlib.metadata import entry_points as installed

            entry_points = installed(group=PLUGIN_GROUP)
        for entry_point in entry_points:
            register = entry_point.load()
            register(self, services)

    def publish(self) -> None:
        """Bring the read counters and gauges up to date (into this worker's files when
        there are several workers). A counter that went down (its owner was rebuilt)
        publishes nothing until it passes its old total again."""
        for item in self._counters:
            for key, total in item.read():
                delta = total - item.published.get(key, 0.0)
                if delta > 0:
                    item.child(key).inc(delta)
                    item.published[key] = total
        for item in self._gauges:
            levels = dict(item.read())
            for key in item.published.keys() - levels.keys():
                levels[key] = 0.0  # gone: a level nobody keeps any more
            for key, level in levels.items():
                if item.published.get(key) != level:
                    item.child(key).set(level)
            item.published = levels

    async def exposition(self) -> bytes:
        """The Prometheus text of this process, or of every worker, plus the shared families."""
        self.publish()
        shared: list[Metric] = []
        for read in self._shared:
            try:
                shared.extend(await read())
            except Exception:  # a scrape still answers with the rest
                log.exception("a shared metrics reading failed")
        if self.multiprocess_dir is None:
            own = generate_latest(self._registry)
        else:
            own = generate_latest(multiprocess.collector(self.multiprocess_dir))
        return own + generate_latest(_Families(shared))

    def start(self) -> None:
        """With several workers: sweep files of dead workers, then publish every second."""
        if self.multiprocess_dir is None or self._task is not None:
            return
        multiprocess.sweep_dead(self.multiprocess_dir)
        self._task = asyncio.create_task(self._publish_loop(), name="kith-metrics-publish")

    async def stop(self) -> None:
        """Publish one last time, then drop this worker's gauges (it is no longer live)."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        self.publish()
        assert self.multiprocess_dir is not None
        multiprocess.mark_dead(self.multiprocess_dir, os.getpid())

    async def _publish_loop(self) -> None:
        while True:
            await asyncio.sleep(self._publish_every)
            try:
                self.publish()
            except Exception:
                log.exception("publishing metrics failed")
