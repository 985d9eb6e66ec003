"""Deliveries survive `kill -9`: a real `kith serve`, a real receiver, on both engines.

1,000 deliveries are queued (in the commits of the events that cause them), the
server is killed while it is sending them (some claimed, some in flight, most
pending), and started again: every delivery arrives at least once, and the
receiver sees exactly 1,000 distinct `webhook-id`s (retries of one delivery
share its id, so a receiver that deduplicates on it gets each exactly once)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.conftest import ENGINES
from tests.destinations.receivers import Receiver, running
from tests.e2e.conftest import Server, create_source
from tests.postgres import drop_schema, fresh_schema_url

DELIVERIES = 1000

pytestmark = pytest.mark.e2e


@pytest.fixture(params=ENGINES)
def server_env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    env = {
        "KITH_DESTINATION_RETRY_BASE_SECONDS": "0.2",
        "KITH_DESTINATION_RETRY_MAX_SECONDS": "1",
        "KITH_DESTINATION_POLL_SECONDS": "0.1",
        "KITH_DESTINATION_LEASE_SECONDS": "2",
    }
    if request.param == "sqlite":
        yield env
        return
    database: str = request.getfixturevalue("postgres_database")
    url, schema = fresh_schema_url(database)
    yield {**env, "KITH_STORAGE_URL": url}
    drop_schema(database, schema)


def test_kill_9_with_1000_pending_deliveries_loses_none(
    tmp_path: Path, server_env: dict[str, str]
) -> None:
    with running(Receiver(delay=0.01)) as receiver:
        server = Server(tmp_path / "data", env=server_env)
        server.start()
        try:
            create_source(server)
            response = httpx.put(
                f"{server.url}/api/destinations/crm",
                json={
                    "kind": "webhook",
                    "event_types": ["purchase"],
                    "concurrency": 4,
                    "config": {"url": receiver.url, "timeout": 2},
                },
                headers=server.admin,
            )
            assert response.status_code == 200, response.text
            batch = [
                {
                    "source": {"id": "web-shop"},
                    "events": [{"type": "purchase", "properties": {"n": n}} for n in range(100)],
                }
                for _ in range(DELIVERIES // 100)
            ]
            answer = httpx.put(f"{server.url}/track", json=batch, timeout=60)
            assert answer.status_code == 200, answer.text
            receiver.wait_for(lambda r: len(r.requests) >= 50, timeout=30)
            server.kill()
            sent_before = len(set(receiver.ids()))
            assert sent_before < DELIVERIES, "all sent before the kill: nothing was tested"

            server.start()
            receiver.wait_for(lambda r: len(set(r.ids())) >= DELIVERIES, timeout=120)
            ids = receiver.ids()
            assert len(set(ids)) == DELIVERIES
            assert len(ids) >= DELIVERIES

            def settled() -> bool:
                stats = httpx.get(f"{server.url}/api/destinations/crm", headers=server.admin)
                figures = stats.json()["stats"]
                return bool(figures["delivered"] == DELIVERIES and figures["pending"] == 0)

            receiver.wait_for(lambda r: settled(), timeout=30)
        finally:
            if server.process is not None:
                server.stop()
