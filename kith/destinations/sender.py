"""The sender inside `kith serve`: one lane per enabled destination.

It keeps the lanes in step with configuration (a new destination gets a lane, a
changed one a fresh lane, a deleted or disabled one loses its lane, its pending
deliveries waiting), wakes them when this process commits (new deliveries),
and now and then deletes finished deliveries past their retention. Several
processes may run senders over one PostgreSQL: claims keep them apart."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from kith.destinations.lane import Lane, LaneSettings
from kith.destinations.metrics import DestinationMetrics
from kith.destinations.pressure import LoopPressure
from kith.destinations.queueing import DestinationCatalog
from kith.domain.ids import new_id
from kith.storage.ports import Storage

log = logging.getLogger(__name__)
PRUNE_EVERY = 600.0
PRUNE_BATCH = 10_000


class DeliverySender:
    def __init__(
        self,
        storage: Storage,
        catalog: DestinationCatalog,
        settings: LaneSettings,
        *,
        retention: float = 7 * 86400.0,
        owner: str | None = None,
    ) -> None:
        self._storage = storage
        self._catalog = catalog
        self._settings = settings
        self._retention = retention
        self.owner = owner or f"sender-{new_id()}"
        self.metrics: dict[str, DestinationMetrics] = {}
        """Per destination id, this process's counters (kept across lane restarts)."""
        self._lanes: dict[str, Lane] = {}
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._stopping = False
        self._pruned = 0.0
        self.pressure = LoopPressure()

    def start(self) -> None:
        self._storage.on_commit(self.wake)
        self.pressure.start()
        self._task = asyncio.create_task(self._supervise(), name="kith-destinations")

    def wake(self) -> None:
        """New deliveries were committed: every lane looks at once."""
        for lane in self._lanes.values():
            lane.wake()

    def reconfigure(self) -> None:
        """Configuration changed in this process: bring the lanes in step now."""
        self._changed.set()

    async def stop(self) -> None:
        self._stopping = True
        self._changed.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await asyncio.gather(*(lane.stop() for lane in self._lanes.values()))
        self._lanes.clear()
        await self.pressure.stop()

    async def _supervise(self) -> None:
        while not self._stopping:
            try:
                await self._sync_lanes()
                await self._prune()
            except Exception:  # configuration or store trouble: try again shortly
                log.exception("the destination sender could not update its lanes")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 1.0)
            self._changed.clear()

    async def _sync_lanes(self) -> None:
        routing = await self._catalog.routing()
        wanted = {rid: route for rid, route in routing.routes.items() if route.enabled}
        for rid in list(self._lanes):
            lane = self._lanes[rid]
            route = wanted.get(rid)
            if route is None or route.document != lane.route.document:
                del self._lanes[rid]
                await lane.stop()
        for rid, route in wanted.items():
            if rid not in self._lanes and not self._stopping:
                metrics = self.metrics.setdefault(rid, DestinationMetrics())
                lane = Lane(
                    route, self._storage, self.owner, self._settings, metrics, self.pressure
                )
                self._lanes[rid] = lane
                lane.start()

    async def _prune(self) -> None:
        now = time.monotonic()
        if now - self._pruned < PRUNE_EVERY:
            return
        self._pruned = now
        while not self._stopping:
            removed = await self._storage.deliveries.prune(self._retention, PRUNE_BATCH)
            if removed < PRUNE_BATCH:
                break
