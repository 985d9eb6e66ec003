"""The loop-pressure gauge that lets the collector go first."""

from __future__ import annotations

import asyncio
import time

from kith.destinations.pressure import LoopPressure


async def test_an_idle_loop_is_not_busy_and_a_blocked_one_is() -> None:
    pressure = LoopPressure(interval=0.02, threshold=0.01)
    pressure.start()
    try:
        await asyncio.sleep(0.3)
        assert not pressure.busy
        for _ in range(10):  # requests hogging the loop: every timer runs late
            time.sleep(0.05)
            await asyncio.sleep(0)
        assert pressure.busy
        await asyncio.sleep(0.5)  # the burst is over
        assert not pressure.busy
    finally:
        await pressure.stop()
