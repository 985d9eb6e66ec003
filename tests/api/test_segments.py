"""Segments and computed traits, live and in batch, on both engines (API.md section 6)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kith.app import build_app
from kith.config import Settings
from kith.domain.clock import iso
from kith.services import build_services
from tests.api.flow_helpers import chain, put_flow, put_rule
from tests.api.helpers import all_events, get_json, new_source, payload, track

Json = dict[str, Any]


class Clock:
    """A clock the test moves; starts at the real time."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app_client(settings: Settings, clock: Clock) -> Iterator[TestClient]:
    """The app with the test's clock for refreshes and windowed traits."""
    app = build_app(settings, build_services(settings, clock=clock))
    with TestClient(app) as client:
        new_source(client, {"Authorization": f"Bearer {settings.bootstrap_admin_key}"}, "web-shop")
        yield client


def wait_job(client: TestClient, admin: Json, job_id: str, seconds: float = 30) -> Json:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = get_json(client, admin, f"/api/jobs/{job_id}")
        if job["status"] in ("done", "failed"):
            assert job["status"] == "done", job
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


def put_segment(client: TestClient, admin: Json, segment_id: str, condition: str | None) -> Json:
    response = client.put(
        f"/api/segments/{segment_id}", json={"name": segment_id, "condition": condition},
        headers=admin,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


def order(total: float, when: datetime | None = None) -> Json:
    event: Json = {"type": "order-completed", "properties": {"total": total}}
    if when is not None:
        event["time"] = {"create": iso(when)}
    return event


def profile_of(client: TestClient, admin: Json, profile_id: str) -> Json:
    return get_json(client, admin, f"/api/profiles/{profile_id}")


def segment_events(client: TestClient, admin: Json, profile_id: str) -> list[tuple[str, str]]:
    events = all_events(client, admin, profile=profile_id)
    return sorted(
        (e["type"], e["properties"]["segment"])
        for e in events
        if e["type"] in ("segment-entered", "segment-left")
    )


def test_live_traffic_enters_and_leaves_with_system_events(
    app_client: TestClient, admin: Json
) -> None:
    client = app_client
    job = put_segment(client, admin, "big-spender", "profile@data.metrics.ltv >= 100")["job"]
    wait_job(client, admin, job)
    first = track(client, payload("s1", events=[order(60)]))
    pid = first["profile"]["id"]
    assert profile_of(client, admin, pid)["segments"] == []
    track(client, payload("s1", events=[order(50)]))
    assert profile_of(client, admin, pid)["segments"] == ["big-spender"]
    assert segment_events(client, admin, pid) == [("segment-entered", "big-spender")]
    # the condition changes: a refresh takes the profile out again, with the event
    job = put_segment(client, admin, "big-spender", "profile@data.metrics.ltv >= 1000")["job"]
    wait_job(client, admin, job)
    assert profile_of(client, admin, pid)["segments"] == []
    assert segment_events(client, admin, pid) == [
        ("segment-entered", "big-spender"), ("segment-left", "big-spender")
    ]  # fmt: skip
    segment = get_json(client, admin, "/api/segments/big-spender")
    assert segment["size"] == 0 and segment["condition"].endswith(">= 1000")
    assert get_json(client, admin, "/api/profiles?segment=big-spender")["items"] == []


def test_a_segment_on_now_offset_moves_profiles_as_time_passes(
    app_client: TestClient, admin: Json, clock: Clock
) -> None:
    client = app_client
    saved = put_segment(client, admin, "inactive",
                        'profile@metadata.time.visit.current < now.offset("-30d")')  # fmt: skip
    wait_job(client, admin, saved["job"])  # else the refresh below may join the save's job
    pid = track(client, payload("s1"))["profile"]["id"]
    assert profile_of(client, admin, pid)["segments"] == []
    clock.now += timedelta(days=31)
    response = client.post("/api/segments/inactive/refresh", headers=admin)
    assert response.status_code == 202
    done = wait_job(client, admin, response.json()["job"])
    assert done["kind"] == "segment-refresh" and done["done"] == done["total"] == 1
    assert profile_of(client, admin, pid)["segments"] == ["inactive"]
    assert segment_events(client, admin, pid) == [("segment-entered", "inactive")]
    # a visit now (real time, 31 days "before" the clock) is still 30+ days old for it,
    # but live traffic evaluates with the request's own time: active again
    track(client, payload("s2", profile=pid))
    assert profile_of(client, admin, pid)["segments"] == []


def test_computed_traits_count_windows_and_age_out(
    app_client: TestClient, admin: Json, clock: Clock
) -> None:
    client = app_client
    for trait_id, body in (
        ("orders-30d", {"kind": "count", "event_type": "order-completed", "window": "30d"}),
        ("spent", {"kind": "sum", "event_type": "order-completed", "property": "properties.total"}),
        ("biggest", {"kind": "max", "event_type": "order-completed",
                     "property": "properties.total"}),
    ):  # fmt: skip
        response = client.put(f"/api/computed-traits/{trait_id}", json=body, headers=admin)
        assert response.status_code == 200, response.text
        wait_job(client, admin, response.json()["job"])
    now = clock.now
    events = [order(10, now - timedelta(days=40)), order(30, now - timedelta(days=2)), order(5)]
    pid = track(client, payload("s1", events=events))["profile"]["id"]
    computed = profile_of(client, admin, pid)["computed"]
    assert computed == {"orders-30d": 2, "spent": 45, "biggest": 30}
    job = put_segment(client, admin, "frequent", "profile@computed.orders-30d >= 2")["job"]
    wait_job(client, admin, job)
    assert profile_of(client, admin, pid)["segments"] == ["frequent"]
    clock.now += timedelta(days=29)  # the 2-day-old order ages out, the new one stays
    assert profile_of(client, admin, pid)["computed"]["orders-30d"] == 1
    bad = client.put("/api/computed-traits/x", json={"kind": "sum", "event_type": "a"},
                     headers=admin)  # fmt: skip
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "property"]


def test_a_new_trait_counts_past_events(app_client: TestClient, admin: Json) -> None:
    client = app_client
    pid = track(client, payload("s1", events=[order(10), order(20)]))["profile"]["id"]
    other = track(client, payload("s2"))["profile"]["id"]
    response = client.put(
        "/api/computed-traits/orders",
        json={"kind": "count", "event_type": "order-completed"},
        headers=admin,
    )
    job = wait_job(client, admin, response.json()["job"])
    assert job["done"] == 2
    assert profile_of(client, admin, pid)["computed"]["orders"] == 2
    assert profile_of(client, admin, other)["computed"]["orders"] == 0
    track(client, payload("s1", events=[order(5)]))
    assert profile_of(client, admin, pid)["computed"]["orders"] == 3


def test_a_merge_combines_traits_and_re_segments_the_survivor(
    app_client: TestClient, admin: Json
) -> None:
    client = app_client
    trait = {"kind": "count", "event_type": "order-completed"}
    response = client.put("/api/computed-traits/orders", json=trait, headers=admin)
    wait_job(client, admin, response.json()["job"])
    wait_job(
        client, admin, put_segment(client, admin, "loyal", "profile@computed.orders >= 3")["job"]
    )
    identify = {"type": "identify", "properties": {"email": "ann@example.com"}}
    first = track(client, payload("s1", events=[identify, order(1), order(2)]))["profile"]["id"]
    second = track(client, payload("s2", events=[order(3)]))["profile"]["id"]
    assert profile_of(client, admin, first)["segments"] == []
    merged = track(client, payload("s2", events=[identify]))["profile"]["id"]
    assert merged == first
    survivor = profile_of(client, admin, second)
    assert survivor["id"] == first and survivor["computed"]["orders"] == 3
    assert survivor["segments"] == ["loyal"]
    assert ("segment-entered", "loyal") in segment_events(client, admin, first)


def test_manual_segments_stay_until_a_node_removes_them(
    app_client: TestClient, admin: Json
) -> None:
    client = app_client
    nodes = [{"id": "start", "type": "start"},
             {"id": "vip", "type": "add-segment", "config": {"segment": "vip"}}]  # fmt: skip
    put_flow(client, admin, "tag-vip", nodes, chain(nodes[1]))
    put_rule(client, admin, "vip", "tag-vip", event_type="vip-signup")
    wait_job(client, admin, put_segment(client, admin, "vip", "profile@traits.never EXISTS")["job"])
    pid = track(client, payload("s1", events=[{"type": "vip-signup"}]))["profile"]["id"]
    assert profile_of(client, admin, pid)["segments"] == ["vip"]
    wait_job(client, admin, client.post("/api/segments/vip/refresh", headers=admin).json()["job"])
    assert profile_of(client, admin, pid)["segments"] == ["vip"]  # the condition is false
    assert segment_events(client, admin, pid) == [("segment-entered", "vip")]


def test_segment_entered_starts_an_async_flow(app_client: TestClient, admin: Json) -> None:
    client = app_client
    marks = {"set": {"profile@traits.welcomed": "event@properties.segment"}}
    nodes = [{"id": "start", "type": "start"}, {"id": "mark", "type": "set", "config": marks}]
    put_flow(client, admin, "welcome", nodes, chain(nodes[1]))  # a sync flow: runs async here
    put_rule(client, admin, "on-enter", "welcome", event_type="segment-entered")
    wait_job(
        client,
        admin,
        put_segment(client, admin, "buyers", "profile@data.metrics.orders >= 1")["job"],
    )
    pid = track(client, payload("s1", events=[order(5)]))["profile"]["id"]
    deadline = time.monotonic() + 15
    while profile_of(client, admin, pid)["traits"].get("welcomed") != "buyers":
        assert time.monotonic() < deadline, profile_of(client, admin, pid)
        time.sleep(0.05)


def test_a_segment_condition_is_checked_on_save(app_client: TestClient, admin: Json) -> None:
    client = app_client
    for condition, text in (("profile@a = = 1", "line 1, column"), ("event@type == 'x'", "event@")):
        response = client.put("/api/segments/bad", json={"condition": condition}, headers=admin)
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["body", "condition"]
        assert text in response.json()["detail"][0]["msg"]
    assert client.get("/api/segments/bad", headers=admin).status_code == 404


def test_the_schedule_refreshes_clock_segments_once_per_interval(
    app_client: TestClient, admin: Json
) -> None:
    client = app_client
    schedule = client.app.state.services.schedule  # type: ignore[attr-defined]
    wait_job(client, admin, put_segment(client, admin, "plain", "profile@a == 1")["job"])
    timed = 'profile@metadata.time.visit.current < now.offset("-1d")'
    wait_job(client, admin, put_segment(client, admin, "timed", timed)["job"])
    # saving it refreshed it just now: nothing is due yet
    assert client.portal.call(schedule.due) == []  # type: ignore[union-attr]
    jobs = get_json(client, admin, "/api/jobs?kind=segment-refresh")["items"]
    assert len(jobs) == 2
