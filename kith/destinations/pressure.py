"""How busy the event loop is, so deliveries give way to the collector.

The sender shares its process (and, on the embedded store, its core) with the
collector. A loop busy with requests runs a timer late; while it runs late, each
lane keeps only `floor` sends in flight instead of its full concurrency, so the
requests that someone is waiting for get the CPU, and the queue, durable and
retried for hours, drains once the burst is over. The floor keeps a trickle
going, so deliveries never stop under a load that never ends."""

from __future__ import annotations

import asyncio
import contextlib
import time


class LoopPressure:
    def __init__(self, interval: float = 0.05, threshold: float = 0.02) -> None:
        self._interval = interval
        self._threshold = threshold
        self.lag = 0.0
        """Seconds the loop ran a timer late, a moving average."""
        self._task: asyncio.Task[None] | None = None

    @property
    def busy(self) -> bool:
        return self.lag > self._threshold

    def start(self) -> None:
        self._task = asyncio.create_task(self._measure(), name="kith-loop-pressure")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _measure(self) -> None:
        while True:
            started = time.monotonic()
            await asyncio.sleep(self._interval)
            late = max(0.0, time.monotonic() - started - self._interval)
            self.lag = 0.7 * self.lag + 0.3 * late
