"""The sender inside a process, on both engines: an idle sender costs (almost) nothing."""

from __future__ import annotations

import asyncio
import time

from kith.config import Settings
from kith.destinations.metrics import DestinationMetrics
from kith.domain.ids import new_id
from kith.services import build_services
from kith.storage.ports import Delivery
from tests.destinations.receivers import HANG, Receiver, running


async def test_an_idle_sender_does_not_spin(store_settings: Settings) -> None:
    """Claims and outcomes are commits, and commits wake the lanes: a lane that woke
    itself (or its neighbours) with an empty claim would claim forever."""
    services = build_services(store_settings.model_copy(update={"destination_poll_seconds": 0.2}))
    await services.start()
    try:
        for name in ("a", "b", "c"):
            await services.destinations.put(
                name, {"kind": "webhook", "config": {"url": "http://127.0.0.1:9/hook"}}
            )
        services.start_background()
        await asyncio.sleep(0.5)
        before = services.storage.writer_stats().commits
        await asyncio.sleep(2.0)
        assert services.storage.writer_stats().commits - before <= 5
        assert set(services.sender.metrics) == {"a", "b", "c"}
    finally:
        await services.stop_background()
        await services.close()


async def test_stopping_beside_a_hanging_receiver_is_prompt_and_hands_deliveries_back(
    store_settings: Settings,
) -> None:
    services = build_services(store_settings)
    await services.start()
    with running(Receiver(answer=lambda request, count: HANG)) as hanging:
        try:
            await services.destinations.put(
                "hangs",
                {
                    "kind": "webhook",
                    "concurrency": 2,
                    "config": {"url": hanging.url, "timeout": 60},
                },
            )
            await services.storage.deliveries.add(
                [Delivery(new_id(), "hangs", None, None, "{}") for _ in range(10)]
            )
            services.start_background()
            deadline = time.monotonic() + 10
            while services.sender.metrics.get("hangs", DestinationMetrics()).in_flight < 2:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
            started = time.monotonic()
            await services.stop_background()
            assert time.monotonic() - started < 8  # the grace (5 s), not the timeout (60 s)
            again = await services.storage.deliveries.claim("hangs", "next", 20, 30)
            assert len(again) == 10  # due at once
            assert {d.attempts for d in again} == {1}  # the cut attempts did not count
        finally:
            await services.close()
