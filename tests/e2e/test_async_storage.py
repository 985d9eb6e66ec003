"""Async storage in a real `kith serve`: kill -9 with a backlog loses and duplicates nothing."""

from __future__ import annotations

import time
from pathlib import Path

import httpx2 as httpx

from tests.e2e.conftest import Server, create_source

PAYLOADS = 3000


def page_views(server: Server) -> tuple[int, int]:
    stats = httpx.get(
        f"{server.url}/api/events/stats",
        params={"interval": "day", "by": "type", "from": "2020-01-01", "to": "2040-01-01"},
        headers=server.admin,
        timeout=60,
    ).json()
    groups = [bucket["groups"] for bucket in stats["buckets"]]
    return sum(g.get("page-view", 0) for g in groups), sum(
        g.get("visit-started", 0) for g in groups
    )


def test_kill_9_with_a_backlog_loses_nothing_and_stores_nothing_twice(tmp_path: Path) -> None:
    # first nothing processes: every payload is only in the log when the process dies
    server = Server(tmp_path / "data", env={"KITH_BACKGROUND_WORK": "false"})
    server.start()
    try:
        create_source(server)
        sent: list[str] = []
        with httpx.Client(timeout=60) as client:
            for start in range(0, PAYLOADS, 250):
                batch = [
                    {"source": {"id": "web-shop"}, "session": {"id": f"a-{n % 700}"},
                     "events": [{"type": "page-view"}], "options": {"async": True}}
                    for n in range(start, start + 250)
                ]  # fmt: skip
                response = client.put(f"{server.url}/track", json=batch)
                assert response.status_code == 200, response.text
                sent += [event for answer in response.json() for event in answer["events"]]
        assert page_views(server) == (0, 0)
        server.kill()
        # then processing starts and is killed half-way through the backlog
        server.env = {"KITH_LEASE_SECONDS": "2"}
        server.start()
        deadline = time.monotonic() + 120
        while page_views(server)[0] < 500:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        server.kill()
        server.start()
        while True:
            views, visits = page_views(server)
            backlog = httpx.get(f"{server.url}/healthz").json()["ingest"]["backlog"]
            if views >= PAYLOADS and backlog == 0:
                break
            assert time.monotonic() < deadline, (views, backlog)
            time.sleep(0.2)
        assert views == PAYLOADS  # every acknowledged event, none twice
        assert visits == 700  # one session per visitor, however often it was processed
        assert len(set(sent)) == PAYLOADS
    finally:
        server.stop()
