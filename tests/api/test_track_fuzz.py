"""Any JSON in any field of a tracker payload: a 200 or a 4xx, never a 5xx, and a
rejected payload stores nothing.

Two runs: hypothesis (shrinking, both engines) over payload-shaped JSON, and a
volume run of generated requests (tests/api/payload_fuzzer.py) sent straight to
the ASGI app, `KITH_FUZZ_CASES` of them (default 20,000 here; `make fuzz` sends
200,000). "Stores nothing" is checked exactly: the writer commits no unit of
work while a refused request is handled."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from starlette.types import Message

from tests.api.helpers import new_source
from tests.api.payload_fuzzer import FuzzRequest, PayloadFuzzer
from tests.domain.test_payload import payload_like

FUZZ_CASES = int(os.environ.get("KITH_FUZZ_CASES", "20000"))
FUZZ_SEED = int(os.environ.get("KITH_FUZZ_SEED", "20261129"))
REFUSALS = {401, 413, 422}


@pytest.fixture
def quiet_client(make_client: Callable[..., TestClient], admin: dict[str, str]) -> TestClient:
    """A client whose app runs no background work: only requests commit anything."""
    client = make_client(background_work=False)
    new_source(client, admin, "web-shop")
    return client


def units(client: TestClient) -> int:
    return int(client.app.state.services.storage.writer_stats().units)  # type: ignore[attr-defined]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(document=payload_like())
def test_collector_never_fails_on_any_payload(
    quiet_client: TestClient, admin: dict[str, str], document: dict[str, Any]
) -> None:
    client = quiet_client
    before = client.get("/api/events", params={"limit": 1000}, headers=admin).json()["items"]
    committed = units(client)
    response = client.post("/track", content=orjson.dumps(document))
    assert response.status_code < 500, response.text
    if response.status_code != 200:
        assert response.status_code in REFUSALS, response.text
        assert units(client) == committed
        after = client.get("/api/events", params={"limit": 1000}, headers=admin).json()["items"]
        assert len(after) == len(before)


async def call(app: Any, request: FuzzRequest) -> tuple[int, bytes]:
    """One request through the ASGI app, without an HTTP client in between."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": "http",
        "path": request.path,
        "raw_path": request.path.encode(),
        "query_string": request.query,
        "root_path": "",
        "headers": [(b"content-length", str(len(request.body)).encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": request.body, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


@pytest.mark.sqlite_only
def test_generated_requests_never_fail_and_refusals_store_nothing(
    make_client: Callable[..., TestClient], admin: dict[str, str]
) -> None:
    # no fsync per commit: durability is not what this run is about
    # no background work: its own commits (leases, schedules) would count as stored
    client = make_client(sqlite_synchronous="normal", background_work=False)
    new_source(client, admin, "web-shop")
    storage = client.app.state.services.storage  # type: ignore[attr-defined]
    fuzzer = PayloadFuzzer(FUZZ_SEED)
    seen: dict[int, int] = {}

    async def run() -> None:
        for index in range(FUZZ_CASES):
            request = fuzzer.request()
            before = storage.writer_stats().units
            status, body = await call(client.app, request)
            where = f"case {index} (seed {FUZZ_SEED}): {request!r:.300} -> {status} {body!r:.300}"
            assert status == 200 or status in REFUSALS, where
            answer = orjson.loads(body)
            if status != 200:
                assert storage.writer_stats().units == before, where
                assert "detail" in answer, where
            seen[status] = seen.get(status, 0) + 1

    started = time.perf_counter()
    client.portal.call(run)  # type: ignore[union-attr]
    elapsed = time.perf_counter() - started
    print(f"\n{FUZZ_CASES} generated requests in {elapsed:.1f} s: {dict(sorted(seen.items()))}")
    assert seen.get(200, 0) > FUZZ_CASES // 10, seen  # the run is not all refusals
    assert seen.get(422, 0) > FUZZ_CASES // 10, seen
