"""What refreshes on a clock: segments whose condition reads the time (`now()`, ...)
every `segment_refresh_seconds`, and once a day the windowed computed traits of
every profile (events age out of windows with no new event to notice it)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from kith.domain.clock import utcnow
from kith.jobs import JobService
from kith.segments.catalog import SegmentCatalog
from kith.segments.refresh import REFRESH_KIND, Clock

log = logging.getLogger(__name__)
DAY = 86400.0


class RefreshSchedule:
    def __init__(
        self,
        jobs: JobService,
        catalog: SegmentCatalog,
        *,
        every: float,
        clock: Clock,
        tick: float = 60.0,
    ) -> None:
        self._jobs = jobs
        self._catalog = catalog
        self._every = every
        self._clock = clock
        self._tick = tick
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="kith-refresh-schedule")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def due(self) -> list[str]:
        """Queue what is due now; the ids of the jobs queued."""
        queued = []
        definitions = await self._catalog.current()
        now = utcnow()  # the jobs' own creation times are real ones
        timed = sorted(s.id for s in definitions.segments if s.condition and s.condition.uses_now)
        for segment in timed:
            # the key of every refresh of the segment: one saved or asked for within the
            # interval counts, so the schedule never repeats a fresh one
            job = await self._jobs.every(
                REFRESH_KIND,
                {"segments": [segment], "traits": False},
                key=f"segment:{segment}",
                seconds=self._every,
                now=now,
            )
            queued += [job.id] if job else []
        if any(trait.window for trait in definitions.traits):
            job = await self._jobs.every(
                REFRESH_KIND,
                {"segments": None, "traits": True},
                key="schedule:windowed-traits",
                seconds=DAY,
                now=now,
            )
            queued += [job.id] if job else []
        return queued

    async def _run(self) -> None:
        while True:
            try:
                await self.due()
            except Exception:  # tried again at the next tick
                log.exception("could not queue the scheduled refreshes")
            await asyncio.sleep(self._tick)
