"""Any JSON in any field of a tracker payload: a 200 or a 4xx, never a 5xx, and a
rejected payload stores nothing."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from tests.domain.test_payload import payload_like


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(document=payload_like())
def test_collector_never_fails_on_any_payload(
    client: TestClient, admin: dict[str, str], web_source: str, document: dict[str, Any]
) -> None:
    before = client.get("/api/events", params={"limit": 1000}, headers=admin).json()["items"]
    response = client.post("/track", content=orjson.dumps(document))
    assert response.status_code < 500, response.text
    if response.status_code != 200:
        assert 400 <= response.status_code < 500
        after = client.get("/api/events", params={"limit": 1000}, headers=admin).json()["items"]
        assert len(after) == len(before)
