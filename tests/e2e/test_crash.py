"""Acknowledged means committed: every 200 survives `kill -9`."""

from __future__ import annotations

import asyncio
import signal
import uuid

import httpx2 as httpx

from tests.e2e.conftest import Server, create_source


async def hammer(server: Server, count: int, stop_after: int | None = None) -> list[list[str]]:
    """Send `count` payloads 20 at a time; return the event ids of each 200."""
    acknowledged: list[list[str]] = []
    sem = asyncio.Semaphore(20)

    async def one(client: httpx.AsyncClient, index: int) -> None:
        body = {
            "source": {"id": "web-shop"},
            "session": {"id": str(uuid.uuid4())},
            "events": [{"type": "page-view", "id": f"evt-{index}"}, {"type": "add-to-cart"}],
        }
        async with sem:
            try:
                response = await client.post("/track", json=body)
            except httpx.TransportError:
                return
        if response.status_code == 200:
            acknowledged.append(response.json()["events"])

    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        tasks = [asyncio.create_task(one(client, i)) for i in range(count)]
        if stop_after is None:
            await asyncio.gather(*tasks)
        else:
            while len(acknowledged) < stop_after:
                await asyncio.sleep(0.001)
            server.kill()
            await asyncio.gather(*tasks)
    return acknowledged


def assert_all_readable(server: Server, acknowledged: list[list[str]]) -> None:
    with httpx.Client(base_url=server.url, headers=server.admin) as client:
        for event_ids in acknowledged:
            for event_id in event_ids:
                assert client.get(f"/api/events/{event_id}").status_code == 200, event_id


def test_200_acknowledged_payloads_survive_kill_9(server: Server) -> None:
    create_source(server)
    acknowledged = asyncio.run(hammer(server, 200))
    assert len(acknowledged) == 200
    server.kill()
    server.start()
    assert_all_readable(server, acknowledged)


def test_kill_9_under_load_loses_nothing_acknowledged(server: Server) -> None:
    create_source(server)
    acknowledged = asyncio.run(hammer(server, 2000, stop_after=150))
    assert len(acknowledged) >= 150
    server.start()
    assert_all_readable(server, acknowledged)


def test_sigterm_under_load_drains_the_writer(server: Server) -> None:
    create_source(server)

    async def run() -> list[list[str]]:
        task = asyncio.create_task(hammer(server, 400))
        await asyncio.sleep(0.3)
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        return await task

    acknowledged = asyncio.run(run())
    assert server.process is not None
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status tells why
    server.process.wait(timeout=30)
    assert server.stop() in (0, -signal.SIGTERM)
    server.start()
    assert_all_readable(server, acknowledged)
