"""Back-pressure: a backed-up writer makes /healthz say `degraded`, and a full queue
makes the collector answer 503 with Retry-After, storing nothing, instead of queueing
without bound.

The writer is backed up for real: another connection holds SQLite's write lock, so
the writer thread waits in BEGIN IMMEDIATE while requests pile up behind it."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import get_session, new_source, payload


@contextmanager
def write_lock(client: TestClient) -> Iterator[None]:
    path = client.app.state.services.settings.sqlite_path  # type: ignore[attr-defined]
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def queued(client: TestClient) -> int:
    return int(client.app.state.services.storage.writer_stats().queued)  # type: ignore[attr-defined]


def wait_until(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.mark.sqlite_only
def test_a_backed_up_writer_degrades_health_then_refuses_with_503(
    make_client: Callable[..., TestClient], admin: dict[str, str]
) -> None:
    client = make_client(degraded_queue_depth=2, writer_max_queue=4)
    new_source(client, admin, "web-shop")
    assert client.get("/healthz").json()["status"] == "ok"
    pending: list[Future[Any]] = []
    with ThreadPoolExecutor(8) as pool, write_lock(client):

        def send(session: str) -> Future[Any]:
            return pool.submit(client.post, "/track", json=payload(session))

        pending.append(send("held"))  # the writer takes it, then waits for the lock
        time.sleep(0.2)
        pending += [send(f"queued-{i}") for i in range(4)]
        wait_until(lambda: queued(client) == 4)

        health = client.get("/healthz").json()
        assert health["status"] == "degraded"
        assert "writer queue" in health["reason"] and "4" in health["reason"]

        refused = client.post("/track", json=payload("refused"))
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert client.get("/collect/page-view/web-shop/refused-webhook").status_code == 503
        assert client.put("/track", json=[payload("refused-batch")]).status_code == 503
        assert not any(future.done() for future in pending)  # nothing acknowledged yet

    assert [future.result(timeout=30).status_code for future in pending] == [200] * 5
    assert client.get("/healthz").json() == {
        "status": "ok",
        "storage": "sqlite",
        "version": client.get("/healthz").json()["version"],
        "ingest": {"backlog": 0, "lag_seconds": 0.0, "accepted": 0, "processed": 0},
    }
    for session in ("held", "queued-0", "queued-3"):
        assert get_session(client, admin, session) is not None
    for session in ("refused", "refused-webhook", "refused-batch"):
        assert get_session(client, admin, session) is None
