"""Per-source rate limits: 429 with Retry-After above the bucket, and nothing stored."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from tests.api.helpers import all_events, get_session, new_source, payload

SLOW = {"rate": 0.01, "burst": 3}  # three at once, then one per 100 s


def test_no_limit_by_default(client: TestClient, admin: dict[str, str], web_source: str) -> None:
    source = client.get(f"/api/sources/{web_source}", headers=admin).json()
    assert source["rate_limit"] is None
    for index in range(30):
        assert client.post("/track", json=payload(f"s{index}")).status_code == 200


def test_excess_requests_get_429_with_retry_after_and_store_nothing(
    client: TestClient, admin: dict[str, str]
) -> None:
    new_source(client, admin, "limited", rate_limit=SLOW)
    for index in range(3):
        ok = client.post("/track", json=payload(f"ok-{index}", source="limited"))
        assert ok.status_code == 200, ok.text
    refused = client.post("/track", json=payload("refused", source="limited"))
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert "x-process-time" in refused.headers
    assert isinstance(refused.json()["detail"], str)
    assert get_session(client, admin, "refused") is None
    assert all_events(client, admin, session="refused") == []
    assert client.get("/collect/page-view/limited/refused-too").status_code == 429
    assert client.put("/track", json=[payload("batch", source="limited")]).status_code == 429
    assert get_session(client, admin, "refused-too") is None
    assert get_session(client, admin, "batch") is None


def test_limits_are_per_source(client: TestClient, admin: dict[str, str]) -> None:
    new_source(client, admin, "limited", rate_limit={"rate": 0.01, "burst": 1})
    new_source(client, admin, "free")
    assert client.post("/track", json=payload("a", source="limited")).status_code == 200
    assert client.post("/track", json=payload("b", source="limited")).status_code == 429
    assert client.post("/track", json=payload("c", source="free")).status_code == 200


def test_a_batch_counts_each_payload_and_is_refused_whole(
    client: TestClient, admin: dict[str, str]
) -> None:
    new_source(client, admin, "limited", rate_limit=SLOW)
    new_source(client, admin, "free")
    batch = [payload(f"b{i}", source="limited") for i in range(4)]
    refused = client.put("/track", json=[payload("f0", source="free"), *batch])
    assert refused.status_code == 429
    assert "smaller batches" in refused.json()["detail"]
    assert get_session(client, admin, "f0") is None and get_session(client, admin, "b0") is None
    # the refused batch spent no tokens: three payloads still fit
    assert client.put("/track", json=batch[:3]).status_code == 200
    assert client.post("/track", json=payload("b9", source="limited")).status_code == 429


def test_the_bucket_refills(client: TestClient, admin: dict[str, str]) -> None:
    """One token a second: waiting as Retry-After says gets the next request through
    (however slow the first requests were, as long as they took under a second)."""
    new_source(client, admin, "slow", rate_limit={"rate": 1, "burst": 1})
    assert client.post("/track", json=payload("r1", source="slow")).status_code == 200
    refused = client.post("/track", json=payload("r2", source="slow"))
    assert refused.status_code == 429
    time.sleep(float(refused.headers["retry-after"]) + 0.05)
    assert client.post("/track", json=payload("r3", source="slow")).status_code == 200


def test_changing_or_removing_the_limit_applies(client: TestClient, admin: dict[str, str]) -> None:
    new_source(client, admin, "limited", rate_limit={"rate": 0.01, "burst": 1})
    assert client.post("/track", json=payload("a", source="limited")).status_code == 200
    assert client.post("/track", json=payload("b", source="limited")).status_code == 429
    source = client.get("/api/sources/limited", headers=admin).json()
    source["rate_limit"] = None
    assert client.put("/api/sources/limited", json=source, headers=admin).status_code == 200
    assert client.post("/track", json=payload("c", source="limited")).status_code == 200


def test_nonsense_limits_are_422(client: TestClient, admin: dict[str, str]) -> None:
    for bad in ({"rate": 0, "burst": 1}, {"rate": 1, "burst": 0}, {"rate": "fast", "burst": 1}):
        response = client.post("/api/sources", json={"id": "x", "rate_limit": bad}, headers=admin)
        assert response.status_code == 422, (bad, response.text)
