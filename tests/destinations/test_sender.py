"""The sender inside a process, on both engines: an idle sender costs (almost) nothing."""

from __future__ import annotations

import asyncio

from kith.config import Settings
from kith.services import build_services


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
