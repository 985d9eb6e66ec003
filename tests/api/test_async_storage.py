"""Async storage (`options.async`): acknowledged once logged, processed moments later by
the same pipeline, in order per session and profile, nothing twice (API.md section 1)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from kith.storage.ports import START
from tests.api.helpers import all_events, get_json, new_source, payload, track

Json = dict[str, Any]
ASYNC = {"async": True}


def processed(
    client: TestClient, admin: Json, count: int, seconds: float = 20, **query: str
) -> list[Json]:
    deadline = time.monotonic() + seconds
    while True:
        events = all_events(client, admin, **query)
        if len(events) >= count:
            return events
        assert time.monotonic() < deadline, f"{len(events)} of {count} processed"
        time.sleep(0.05)


def views(count: int) -> list[Json]:
    return [{"type": "page-view", "properties": {"n": n}} for n in range(count)]


def test_an_async_payload_is_answered_with_its_ids_then_stored_with_them(
    client: TestClient, admin: Json, web_source: str
) -> None:
    answer = track(client, payload(None, events=views(2), options=ASYNC))
    assert answer["warnings"] == ["processed asynchronously"]
    assert answer["ux"] == [] and answer["response"] == {}
    session, profile = answer["session"]["id"], answer["profile"]["id"]
    assert session and profile and len(answer["events"]) == 2
    stored = processed(client, admin, 2, source="web-shop")
    assert sorted(e["id"] for e in stored) == sorted(answer["events"])
    assert {e["session"]["id"] for e in stored} == {session}
    assert {e["profile"]["id"] for e in stored} == {profile}
    assert get_json(client, admin, f"/api/profiles/{profile}")["stats"]["views"] == 2
    # the next payload of the known session is answered with its profile at once
    again = track(client, payload(session, options=ASYNC))
    assert again["profile"]["id"] == profile
    deadline = time.monotonic() + 20
    # processed counts a batch once handled; backlog drops once it is acknowledged
    while (health := client.get("/healthz").json())["ingest"]["processed"] < 2 or health["ingest"][
        "backlog"
    ]:
        assert time.monotonic() < deadline, health
        time.sleep(0.05)
    assert health["ingest"]["accepted"] == 2
    assert health["ingest"]["processed"] == 2
    assert health["ingest"]["backlog"] == 0 and health["ingest"]["lag_seconds"] == 0.0


def test_a_burst_of_one_session_lands_in_order(
    client: TestClient, admin: Json, web_source: str
) -> None:
    answers = [
        track(client, payload("burst", events=[{"type": "step", "properties": {"n": n}}],
                              options=ASYNC))
        for n in range(30)
    ]  # fmt: skip
    stored = processed(client, admin, 30, type="step")
    by_id = {e["id"]: e for e in stored}
    inserted = [by_id[a["events"][0]]["metadata"]["time"]["insert"] for a in answers]
    assert inserted == sorted(inserted)  # stored in the order they were sent
    profile = get_json(client, admin, f"/api/profiles/{answers[0]['profile']['id']}")
    assert profile["stats"]["visits"] == 1  # one session, one visit
    assert {a["profile"]["id"] for a in answers} == {profile["id"]}


def test_async_and_sync_interleaved_give_the_all_sync_profile(
    client: TestClient, admin: Json, web_source: str
) -> None:
    def journey(session: str, asyncs: Callable[[int], bool]) -> str:
        steps = [
            [{"type": "page-view"}],
            [{"type": "identify", "properties": {"email": f"{session}@example.com"}}],
            [{"type": "order-completed", "properties": {"total": 30, "currency": "EUR"}}],
            [{"type": "page-view"}, {"type": "page-view"}],
            [{"type": "order-completed", "properties": {"total": 12, "currency": "EUR"}}],
        ]
        answer: Json = {}
        for n, events in enumerate(steps):
            body = payload(session, events=events, options=ASYNC if asyncs(n) else None)
            answer = track(client, body)
        return str(answer["profile"]["id"])

    sync_id = journey("all-sync", lambda n: False)
    mixed_id = journey("mixed", lambda n: n % 2 == 0)
    processed(client, admin, 2, session="mixed", type="order-completed")
    shape = ("stats", "data")
    sync, mixed = (get_json(client, admin, f"/api/profiles/{pid}") for pid in (sync_id, mixed_id))
    assert sync["stats"]["views"] == mixed["stats"]["views"] == 3
    assert sync["data"]["metrics"]["ltv"] == mixed["data"]["metrics"]["ltv"] == 42
    assert sync["data"]["metrics"]["orders"] == mixed["data"]["metrics"]["orders"] == 2
    assert mixed["data"]["contact"]["email"]["main"] == "mixed@example.com"
    assert all(key in mixed for key in shape)


def test_a_source_can_make_async_the_default(
    client: TestClient, admin: Json, web_source: str
) -> None:
    new_source(client, admin, "batchy", **{"async": True})
    assert get_json(client, admin, "/api/sources/batchy")["async"] is True
    answer = track(client, payload("s-default", source="batchy"))
    assert answer["warnings"] == ["processed asynchronously"]
    forced = track(client, payload("s-forced", source="batchy", options={"async": False}))
    assert forced["warnings"] == []
    processed(client, admin, 2, source="batchy")


def test_a_full_backlog_is_503_with_retry_after(
    make_client: Callable[..., TestClient], admin: Json
) -> None:
    client = make_client(ingest_max_backlog=2, background_work=False)  # nothing processes
    new_source(client, admin, "web-shop")
    for n in range(2):
        track(client, payload(f"s{n}", options=ASYNC))
    refused = client.post("/track", json=payload("s3", options=ASYNC))
    assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
    assert track(client, payload("sync"))["warnings"] == []  # sync payloads still pass


def test_processing_a_log_entry_twice_stores_nothing_twice(
    make_client: Callable[..., TestClient], admin: Json
) -> None:
    client = make_client(background_work=False)
    new_source(client, admin, "web-shop")
    services = client.app.state.services  # type: ignore[attr-defined]
    answer = track(client, payload(None, events=views(3), options=ASYNC))
    deadline = time.monotonic() + 10
    # on PostgreSQL the log is read behind the oldest transaction running in the cluster
    while not (entries := client.portal.call(services.ingest_runner._log.read, START, 10)):  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "the logged payload never became readable"
        time.sleep(0.02)
    processor = services.ingest_runner._consumers[0]
    for _ in range(2):  # a crash after the commit and before the acknowledgement
        client.portal.call(processor.handle, entries)  # type: ignore[union-attr]
    stored = all_events(client, admin, source="web-shop")
    assert sorted(e["id"] for e in stored) == sorted(answer["events"])
    profile = get_json(client, admin, f"/api/profiles/{answer['profile']['id']}")
    assert profile["stats"]["views"] == 3 and profile["stats"]["visits"] == 1
    created = all_events(client, admin, type="profile-created")
    assert len(created) == 1


def test_processing_waits_while_the_collector_is_busy_then_catches_up(
    make_client: Callable[..., TestClient], admin: Json
) -> None:
    client = make_client(ingest_defer_seconds=1.5)
    new_source(client, admin, "web-shop")
    services = client.app.state.services  # type: ignore[attr-defined]
    services.load.active += 100  # as if 100 collector requests were being answered
    try:
        started = time.monotonic()
        track(client, payload("busy", events=views(2), options=ASYNC))
        time.sleep(0.5)
        assert services.ingest_processor.processed == 0  # accepting comes first
        processed(client, admin, 2, source="web-shop")
        assert time.monotonic() - started >= 1.0  # held back, but not for ever
    finally:
        services.load.active -= 100


def test_a_busy_collector_does_not_hold_back_a_backlog_past_half_its_bound(
    make_client: Callable[..., TestClient], admin: Json
) -> None:
    client = make_client(ingest_defer_seconds=30, ingest_max_backlog=2)
    new_source(client, admin, "web-shop")
    services = client.app.state.services  # type: ignore[attr-defined]
    services.load.active += 100
    try:
        track(client, payload("full", events=views(1), options=ASYNC))
        processed(client, admin, 1, seconds=10, source="web-shop")
    finally:
        services.load.active -= 100
