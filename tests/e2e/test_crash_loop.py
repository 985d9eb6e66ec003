"""Kill -9 at random moments under mixed load, round after round: nothing acknowledged
is lost and the store stays intact.

Each round starts `kith serve` on the same data directory, sends /track, PUT
/track and /collect requests 24 at a time, kills the server with SIGKILL after a
random delay, checks `PRAGMA integrity_check` on the file while no process has
it open, restarts, and checks that every event acknowledged in any round so far
is readable. `KITH_CRASH_ROUNDS` (default 3) sets the rounds; `make crash`, run
by `make bench`, does 25. The seed is printed so a failing run can be replayed
with `KITH_CRASH_SEED`."""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from tests.e2e.conftest import Server, create_source

ROUNDS = int(os.environ.get("KITH_CRASH_ROUNDS", "3"))
SEED = int(os.environ.get("KITH_CRASH_SEED", str(time.time_ns() % 1_000_000)))
CONCURRENCY = 24

pytestmark = pytest.mark.e2e


def _request(rng: random.Random) -> tuple[str, str, Any]:
    """(method, path, JSON body) of one write: mostly /track, some batches and webhooks."""
    roll = rng.random()

    def one() -> dict[str, Any]:
        return {
            "source": {"id": "web-shop"},
            "session": {"id": str(uuid.uuid4())},
            "events": [
                {"type": "page-view", "id": str(uuid.uuid4())},
                {"type": "add-to-cart", "properties": {"sku": rng.randrange(1000)}},
            ],
        }

    if roll < 0.75:
        return "POST", "/track", one()
    if roll < 0.9:
        return "PUT", "/track", [one() for _ in range(rng.randrange(2, 5))]
    return "POST", f"/collect/signup/web-shop/{uuid.uuid4()}", {"plan": "pro"}


def _event_ids(answer: Any) -> list[str]:
    answers = answer if isinstance(answer, list) else [answer]
    return [event_id for item in answers for event_id in item["events"]]


async def load_then_kill(server: Server, rng: random.Random, kill_after: float) -> list[str]:
    """Send writes until the server dies `kill_after` seconds in; return acknowledged ids."""
    acknowledged: list[str] = []
    stop = asyncio.Event()

    async def worker(client: httpx.AsyncClient) -> None:
        while not stop.is_set():
            method, path, body = _request(rng)
            try:
                response = await client.request(method, path, json=body)
            except httpx.TransportError:
                return  # the server is gone: an unanswered request is not acknowledged
            if response.status_code == 200:
                acknowledged.extend(_event_ids(response.json()))

    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        workers = [asyncio.create_task(worker(client)) for _ in range(CONCURRENCY)]
        await asyncio.sleep(kill_after)
        await asyncio.to_thread(server.kill)
        stop.set()
        await asyncio.gather(*workers)
    return acknowledged


def integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def stored_event_ids(server: Server) -> set[str]:
    found: set[str] = set()
    cursor: str | None = None
    with httpx.Client(base_url=server.url, headers=server.admin, timeout=30) as client:
        while True:
            params = {"limit": "1000", **({"cursor": cursor} if cursor else {})}
            page = client.get("/api/events", params=params).json()
            found.update(item["id"] for item in page["items"])
            cursor = page["next"]
            if not cursor:
                return found


def test_random_kill_9_rounds_lose_nothing_acknowledged(server: Server) -> None:
    print(f"\ncrash loop: {ROUNDS} rounds, KITH_CRASH_SEED={SEED}")
    rng = random.Random(SEED)
    create_source(server)
    acknowledged: set[str] = set()
    for round_number in range(1, ROUNDS + 1):
        kill_after = rng.uniform(0.2, 1.5)
        acked = asyncio.run(load_then_kill(server, rng, kill_after))
        assert integrity(server.data_dir / "kith.db") == "ok", f"round {round_number}"
        acknowledged.update(acked)
        server.start()
        missing = acknowledged - stored_event_ids(server)
        assert not missing, f"round {round_number}: {len(missing)} acknowledged events lost"
        print(f"round {round_number}: killed after {kill_after:.2f} s, {len(acked)} events acked")
    assert len(acknowledged) > ROUNDS * 10, "the load never got going"
    health = httpx.get(f"{server.url}/healthz").json()
    assert health["status"] == "ok"
