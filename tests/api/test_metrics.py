"""`GET /metrics` (API.md section 10) on both engines: the Prometheus text parses, the
numbers move with the traffic that should move them, and only keys (or everybody,
when configured) may read it."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.api.flow_helpers import chain, put_flow, put_rule
from tests.api.helpers import Headers, payload, track
from tests.api.test_segments import put_segment, wait_job

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
ROOT = Path(__file__).resolve().parents[2]
TRACK = "/track"


def scrape(client: TestClient, headers: Headers) -> Samples:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def requests(samples: Samples, route: str, method: str = "POST", status: str = "200") -> float:
    return value(
        samples,
        "kith_http_request_duration_seconds_count",
        route=route,
        method=method,
        status=status,
    )


def test_tracking_moves_requests_events_and_the_writer(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    before = scrape(client, admin)
    for n in range(5):
        track(client, payload(f"visitor-{n}", n_events=2))
    assert client.post("/track", json={"source": {"id": "nope"}}).status_code in (401, 422)
    after = scrape(client, admin)

    assert requests(after, TRACK) - requests(before, TRACK) == 5
    latency = "kith_http_request_duration_seconds_bucket"
    assert value(after, latency, route=TRACK, method="POST", status="200", le="+Inf") >= 5
    events = "kith_events_stored_total"
    assert value(after, events, type="page-view", source=web_source) == 10
    for system in ("profile-created", "session-opened", "visit-started"):
        assert value(after, events, type=system, source="@internal") == 5
    committed = "kith_writer_units_per_commit_sum"
    assert value(after, committed) - value(before, committed) >= 5
    assert value(after, "kith_writer_units_per_commit_count") >= 1
    assert ("kith_writer_queue_depth", frozenset()) in after


def test_routes_are_labelled_by_their_templates(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    assert client.get(f"/collect/click/{web_source}/session-1").status_code == 200
    assert client.get(f"/collect/click/{web_source}/session-2").status_code == 200
    assert client.get("/api/sources/web-shop", headers=admin).status_code == 200
    assert client.get("/api/sources/missing", headers=admin).status_code == 404
    assert client.get("/no/such/path", headers=admin).status_code == 404
    samples = scrape(client, admin)
    collect = "/collect/{event_type}/{source_id}/{session_id}"
    assert requests(samples, collect, "GET") == 2
    assert requests(samples, "/api/sources/{source_id}", "GET") == 1
    assert requests(samples, "/api/sources/{source_id}", "GET", "404") == 1
    assert requests(samples, "unmatched", "GET", "404") == 1
    routes = {dict(labels).get("route") for _, labels in samples}
    assert not any(route and ("session-1" in route or "web-shop" in route) for route in routes)


def test_merges_and_refused_merges_are_counted(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    def identify(session: str, email: str) -> None:
        track(
            client, payload(session, events=[{"type": "identify", "properties": {"email": email}}])
        )

    identify("laptop", "ada@example.com")
    identify("phone", "ada@example.com")
    identify("tablet", "test@test.com")  # a blocked value
    samples = scrape(client, admin)
    assert value(samples, "kith_identity_merges_total") == 1
    assert value(samples, "kith_identity_merges_refused_total", rule="blocked") == 1


def test_flow_runs_and_node_errors_are_counted(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    start = {"id": "start", "type": "start"}
    nodes = [start, {"id": "oops", "type": "error", "config": {"message": "no"}}]
    put_flow(client, admin, "broken", nodes, chain(nodes[1]))
    put_rule(client, admin, "always", "broken", event_type="page-view")
    track(client, payload("s1"))
    track(client, payload("s2"))
    samples = scrape(client, admin)
    assert value(samples, "kith_flow_runs_total", flow="broken", outcome="failed") == 2
    assert value(samples, "kith_flow_node_errors_total", node_type="error") == 2


def test_segment_changes_and_jobs_are_counted(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    job = put_segment(client, admin, "big-spender", "profile@data.metrics.ltv >= 100")["job"]
    wait_job(client, admin, job)
    order = {"type": "order-completed", "properties": {"total": 150}}
    track(client, payload("buyer", events=[order]))
    job = put_segment(client, admin, "big-spender", "profile@data.metrics.ltv >= 1000")["job"]
    wait_job(client, admin, job)
    samples = scrape(client, admin)
    changes = "kith_segment_changes_total"
    assert value(samples, changes, segment="big-spender", change="entered") == 1
    assert value(samples, changes, segment="big-spender", change="left") == 1
    assert value(samples, "kith_segment_refresh_profiles_total", outcome="changed") == 1
    assert value(samples, "kith_jobs", kind="segment-refresh", status="done") == 2
    assert ("kith_feed_lag_events", frozenset({("consumer", "async-flows")})) in samples


def test_async_payloads_are_counted_accepted_then_processed(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    for n in range(4):
        track(client, payload(f"later-{n}", options={"async": True}))
    deadline = time.monotonic() + 30
    while value(samples := scrape(client, admin), "kith_ingest_processed_total") < 4:
        assert time.monotonic() < deadline, "the ingest log was not processed"
        time.sleep(0.05)
    assert value(samples, "kith_ingest_accepted_total") == 4
    assert value(samples, "kith_events_stored_total", type="page-view", source=web_source) == 4
    deadline = time.monotonic() + 30
    while value(samples := scrape(client, admin), "kith_ingest_backlog") > 0:
        assert time.monotonic() < deadline, "the backlog did not empty"
        time.sleep(0.05)
    assert value(samples, "kith_ingest_lag_seconds") == 0


def test_a_backlog_shows_its_size_and_age(
    make_client: Callable[..., TestClient], admin: Headers
) -> None:
    client = make_client(background_work=False)  # nobody processes the log
    response = client.post("/api/sources", json={"id": "web-shop"}, headers=admin)
    assert response.status_code == 201, response.text
    for n in range(3):
        track(client, payload(f"waiting-{n}", options={"async": True}))
    time.sleep(0.1)
    samples = scrape(client, admin)
    assert value(samples, "kith_ingest_accepted_total") == 3
    assert value(samples, "kith_ingest_backlog") == 3
    assert value(samples, "kith_ingest_lag_seconds") >= 0.1
    assert value(samples, "kith_ingest_processed_total") == 0


def test_event_types_past_the_cap_count_as_other(
    make_client: Callable[..., TestClient], admin: Headers
) -> None:
    client = make_client(metrics_event_types=5)
    response = client.post("/api/sources", json={"id": "web-shop"}, headers=admin)
    assert response.status_code == 201, response.text
    # profile-created, session-opened and visit-started take three of the five names
    types = [{"type": f"kind-{n}"} for n in range(4)]
    track(client, payload("s1", events=types))
    samples = scrape(client, admin)
    stored = "kith_events_stored_total"
    assert value(samples, stored, type="kind-0", source="web-shop") == 1
    assert value(samples, stored, type="kind-1", source="web-shop") == 1
    assert value(samples, stored, type="other", source="web-shop") == 2
    assert value(samples, stored, type="kind-2", source="web-shop") == 0


def test_a_key_is_needed(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer kith_nope_nope"})
    assert wrong.status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Basic eDp5"}).status_code == 401


@pytest.mark.parametrize("role", ["admin", "developer", "marketer", "viewer"])
def test_a_key_of_any_role_may_read(
    client: TestClient, key_for: Callable[[str], Headers], role: str
) -> None:
    scrape(client, key_for(role))


def test_open_to_all_when_public(make_client: Callable[..., TestClient]) -> None:
    client = make_client(metrics_public=True)
    assert "kith_http_request_duration_seconds" in client.get("/metrics").text


def test_switched_off_there_is_nothing(
    make_client: Callable[..., TestClient], admin: Headers
) -> None:
    client = make_client(metrics=False)
    assert client.get("/metrics", headers=admin).status_code == 404
    response = client.post("/api/sources", json={"id": "web-shop"}, headers=admin)
    assert response.status_code == 201
    track(client, payload("s1"))


@pytest.mark.sqlite_only
def test_every_metric_is_documented_and_the_dashboard_charts_only_those(
    client: TestClient, admin: Headers
) -> None:
    docs = (ROOT / "docs" / "metrics.md").read_text()
    response = client.get("/metrics", headers=admin)
    families = {family.name for family in text_string_to_metric_families(response.text)}
    assert len(families) >= 14
    for name in families:
        suffix = "_total" if f"`{name}_total`" in docs else ""
        assert f"`{name}{suffix}`" in docs, name
    dashboard = json.loads((ROOT / "docs" / "grafana-kith.json").read_text())
    charted = set(re.findall(r"kith_[a-z_]+", json.dumps(dashboard)))
    assert charted, "the dashboard charts nothing"
    for name in charted:
        family = re.sub(r"_(bucket|count|sum)$", "", name)
        assert f"`{family}`" in docs, name


def test_deliveries_are_counted_and_their_queue_shown(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    destination = {
        "name": "down", "kind": "webhook", "on": "event", "event_types": ["page-view"],
        "config": {"url": "http://127.0.0.1:1/hook", "timeout": 1},
    }  # fmt: skip
    response = client.put("/api/destinations/down", json=destination, headers=admin)
    assert response.status_code == 200, response.text
    track(client, payload("s-deliveries"))
    deadline = time.monotonic() + 20
    while True:
        samples = scrape(client, admin)
        attempts = value(samples, "kith_deliveries_total", destination="down", outcome="attempts")
        queued = value(samples, "kith_deliveries_queued", destination="down", status="pending")
        if attempts >= 1 and queued >= 1:
            break
        assert time.monotonic() < deadline, (attempts, queued)
        time.sleep(0.1)
    age = value(samples, "kith_delivery_oldest_pending_seconds", destination="down")
    assert age >= 0
