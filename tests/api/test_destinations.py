"""Destinations end to end, on both engines, against real receivers started here."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from standardwebhooks.webhooks import Webhook

from tests.destinations.receivers import HANG, Receiver, running

FAST = {
    "destination_retry_base_seconds": 0.05,
    "destination_retry_max_seconds": 0.2,
    "destination_poll_seconds": 0.05,
}


@pytest.fixture
def fast(make_client: Callable[..., TestClient], web_source_for: Any) -> TestClient:
    client = make_client(**FAST)
    web_source_for(client)
    return client


@pytest.fixture
def web_source_for(admin: dict[str, str]) -> Callable[[TestClient], str]:
    def create(client: TestClient) -> str:
        response = client.post(
            "/api/sources",
            json={"id": "web-shop", "name": "Web shop", "bridges": ["rest", "webhook"]},
            headers=admin,
        )
        assert response.status_code == 201, response.text
        return "web-shop"

    return create


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running(Receiver()) as started:
        yield started


def put_destination(
    client: TestClient, admin: dict[str, str], destination_id: str, **fields: Any
) -> dict[str, Any]:
    response = client.put(f"/api/destinations/{destination_id}", json=fields, headers=admin)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def track(client: TestClient, *event_types: str, **properties: Any) -> dict[str, Any]:
    payload = {
        "source": {"id": "web-shop"},
        "events": [{"type": t, "properties": properties} for t in event_types],
    }
    response = client.post("/track", json=payload)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def wait_until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def deliveries(
    client: TestClient, admin: dict[str, str], destination_id: str, status: str | None = None
) -> list[dict[str, Any]]:
    query = f"?status={status}" if status else ""
    response = client.get(f"/api/destinations/{destination_id}/deliveries{query}", headers=admin)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_fails_three_times_then_delivers_once_with_one_webhook_id(
    fast: TestClient, admin: dict[str, str], receiver: Receiver
) -> None:
    receiver.answer = lambda request, count: 503 if count < 3 else 200
    created = put_destination(
        fast,
        admin,
        "crm",
        kind="webhook",
        event_types=["order-completed"],
        mapping={"email": "profile@data.contact.email.main", "total": "event@properties.total"},
        config={"url": receiver.url, "timeout": 5},
    )
    secret = created["config"]["secret"]
    assert secret.startswith("whsec_")
    assert fast.get("/api/destinations/crm", headers=admin).json()["config"]["secret"] == "***"

    answer = track(fast, "page-view", "order-completed", total=120)
    receiver.wait_for(lambda r: len(r.requests) >= 4)
    time.sleep(0.3)  # nothing more may come
    assert len(receiver.requests) == 4
    assert len(set(receiver.ids())) == 1
    verifier = Webhook(secret)
    for request in receiver.requests:
        verified = verifier.verify(request.body, request.headers)
        assert verified == {"email": None, "total": 120}
    wait_until(lambda: bool(deliveries(fast, admin, "crm", "delivered")))
    (delivery,) = deliveries(fast, admin, "crm")
    assert delivery["id"] == receiver.ids()[0]
    assert delivery["event"] == answer["events"][1]
    assert (delivery["status"], delivery["attempts"], delivery["last_status"]) == (
        "delivered",
        4,
        200,
    )
    stats = fast.get("/api/destinations/crm", headers=admin).json()["stats"]
    assert (stats["pending"], stats["delivered"], stats["dead"], stats["retries"]) == (0, 1, 0, 3)
    assert stats["oldest_pending_age"] is None


def test_a_400_is_dead_at_once_and_replay_delivers_it_after_the_fix(
    fast: TestClient, admin: dict[str, str], receiver: Receiver
) -> None:
    fixed = False
    receiver.answer = lambda request, count: 200 if fixed else 400
    put_destination(fast, admin, "crm", kind="webhook", config={"url": receiver.url})
    track(fast, "purchase")
    # every event of the request (its system events too) goes to a destination of any type
    wait_until(lambda: len(deliveries(fast, admin, "crm", "dead")) == 4)
    time.sleep(0.3)
    assert len(receiver.requests) == 4
    dead = deliveries(fast, admin, "crm", "dead")
    assert {d["attempts"] for d in dead} == {1}
    assert {d["last_status"] for d in dead} == {400}
    assert all("HTTP 400" in d["last_error"] for d in dead)

    fixed = True
    response = fast.post("/api/destinations/crm/replay", json={"status": "dead"}, headers=admin)
    assert response.json() == {"queued": 4}
    wait_until(lambda: len(deliveries(fast, admin, "crm", "delivered")) == 4)
    ids = receiver.ids()
    assert len(ids) == 8 and set(ids[:4]) == set(ids[4:])
    assert deliveries(fast, admin, "crm", "dead") == []


def test_replay_windows_on_created(
    fast: TestClient, admin: dict[str, str], receiver: Receiver
) -> None:
    receiver.answer = lambda request, count: 400
    put_destination(
        fast, admin, "crm", kind="webhook", event_types=["purchase"], config={"url": receiver.url}
    )
    track(fast, "purchase")
    wait_until(lambda: len(deliveries(fast, admin, "crm", "dead")) == 1)
    created = deliveries(fast, admin, "crm")[0]["created"]
    before = {"status": "dead", "to": "2000-01-01T00:00:00Z"}
    assert fast.post("/api/destinations/crm/replay", json=before, headers=admin).json() == {
        "queued": 0
    }
    window = {"status": "dead", "from": created, "to": created}
    assert fast.post("/api/destinations/crm/replay", json=window, headers=admin).json() == {
        "queued": 1
    }


def test_retry_after_is_honoured(
    fast: TestClient, admin: dict[str, str], receiver: Receiver
) -> None:
    receiver.answer = lambda request, count: 429 if count == 0 else 200
    receiver.retry_after = "1"
    put_destination(
        fast, admin, "crm", kind="webhook", event_types=["purchase"], config={"url": receiver.url}
    )
    track(fast, "purchase")
    receiver.wait_for(lambda r: len(r.requests) == 2)
    first, second = receiver.requests
    assert second.at - first.at >= 0.95  # the backoff alone would be ~0.05 s


def test_a_hanging_destination_costs_the_others_nothing(
    make_client: Callable[..., TestClient],
    web_source_for: Callable[[TestClient], str],
    admin: dict[str, str],
    receiver: Receiver,
) -> None:
    client = make_client(**FAST)
    web_source_for(client)
    put_destination(
        client,
        admin,
        "fast",
        kind="webhook",
        event_types=["purchase"],
        config={"url": receiver.url},
    )

    def rate(count: int) -> float:
        before = len(receiver.requests)
        started = time.monotonic()
        for start in range(0, count, 50):
            batch = [
                {"source": {"id": "web-shop"}, "events": [{"type": "purchase"}]}
                for _ in range(min(50, count - start))
            ]
            assert client.put("/track", json=batch).status_code == 200
        receiver.wait_for(lambda r: len(r.requests) >= before + count, timeout=60)
        return count / (time.monotonic() - started)

    alone = rate(300)
    with running(Receiver(answer=lambda request, count: HANG)) as hanging:
        put_destination(
            client,
            admin,
            "hangs",
            kind="webhook",
            event_types=["purchase"],
            concurrency=4,
            config={"url": hanging.url, "timeout": 30},
        )
        beside = rate(300)
        assert len(hanging.requests) == 4  # its own slots, all held
        stats = client.get("/api/destinations/hangs", headers=admin).json()["stats"]
        assert stats["process"]["in_flight"] == 4
        assert stats["pending"] == 300
        assert beside >= 0.5 * alone, (alone, beside)
        client.delete("/api/destinations/hangs", headers=admin)


def test_profile_destinations_send_a_burst_once_with_the_latest_profile(
    make_client: Callable[..., TestClient],
    web_source_for: Callable[[TestClient], str],
    admin: dict[str, str],
    receiver: Receiver,
) -> None:
    client = make_client(**FAST, destination_debounce_seconds=2.0)
    web_source_for(client)
    put_destination(
        client,
        admin,
        "profiles",
        kind="webhook",
        on="profile",
        sources=["web-shop"],
        config={"url": receiver.url},
    )
    first = track(client, "page-view")
    profile_id = first["profile"]["id"]
    session = {"id": first["session"]["id"]}
    for index in range(5):
        payload = {
            "source": {"id": "web-shop"},
            "session": session,
            "events": [{"type": "identify", "properties": {"firstname": f"Ann{index}"}}],
        }
        assert client.post("/track", json=payload).status_code == 200
    receiver.wait_for(lambda r: len(r.requests) >= 1)
    time.sleep(2.5)  # a second window would have fired by now
    assert len(receiver.requests) == 1
    body = orjson.loads(receiver.requests[0].body)
    assert set(body) == {"profile"}
    assert body["profile"]["id"] == profile_id
    assert body["profile"]["data"]["pii"]["firstname"] == "Ann4"
    assert body["profile"]["stats"]["views"] == 1

    # a later change is a new window: sent once more
    payload = {"source": {"id": "web-shop"}, "session": session, "events": [{"type": "page-view"}]}
    assert client.post("/track", json=payload).status_code == 200
    receiver.wait_for(lambda r: len(r.requests) == 2)
    assert orjson.loads(receiver.requests[1].body)["profile"]["stats"]["views"] == 2


def test_profile_destinations_filter_on_the_causing_events_source(
    fast: TestClient, admin: dict[str, str], receiver: Receiver
) -> None:
    put_destination(
        fast,
        admin,
        "profiles",
        kind="webhook",
        on="profile",
        sources=["crm-import"],
        debounce=0,
        config={"url": receiver.url},
    )
    track(fast, "page-view")
    time.sleep(0.5)
    assert receiver.requests == []


def test_condition_and_sources_select_events(
    fast: TestClient, admin: dict[str, str], receiver: Receiver
) -> None:
    put_destination(
        fast,
        admin,
        "big",
        kind="webhook",
        event_types=["purchase"],
        sources=["web-shop"],
        condition="event@properties.total >= 100",
        config={"url": receiver.url},
    )
    track(fast, "purchase", total=50)
    track(fast, "purchase", total=150)
    track(fast, "page-view", total=500)
    receiver.wait_for(lambda r: len(r.requests) >= 1)
    time.sleep(0.3)
    (request,) = receiver.requests
    body = orjson.loads(request.body)
    assert body["event"]["properties"] == {"total": 150}
    assert body["profile"]["id"] == body["event"]["profile"]["id"]


def test_disabled_destinations_queue_nothing(
    fast: TestClient, admin: dict[str, str], receiver: Receiver
) -> None:
    put_destination(fast, admin, "off", kind="webhook", enabled=False, config={"url": receiver.url})
    track(fast, "purchase")
    time.sleep(0.3)
    assert receiver.requests == [] and deliveries(fast, admin, "off") == []


def test_secrets_are_write_only_and_kept_on_read_modify_write(
    client: TestClient, admin: dict[str, str], receiver: Receiver
) -> None:
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    created = put_destination(
        client, admin, "crm", kind="webhook", config={"url": receiver.url, "secret": secret}
    )
    assert created["config"]["secret"] == "***"
    read = client.get("/api/destinations/crm", headers=admin).json()
    assert read["config"]["secret"] == "***"
    read["name"] = "Renamed"
    again = client.put("/api/destinations/crm", json=read, headers=admin)
    assert again.status_code == 200 and again.json()["config"]["secret"] == "***"
    response = client.post("/api/destinations/crm/test", headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["delivered"] is True
    (request,) = receiver.requests
    Webhook(secret).verify(request.body, request.headers)  # the kept secret signed it
    listed = client.get("/api/destinations", headers=admin).json()["items"]
    assert [d["config"]["secret"] for d in listed] == ["***"]


def test_test_answers_what_the_receiver_said(
    client: TestClient, admin: dict[str, str], receiver: Receiver
) -> None:
    receiver.answer = lambda request, count: 400
    put_destination(client, admin, "crm", kind="webhook", config={"url": receiver.url})
    response = client.post("/api/destinations/crm/test", headers=admin)
    assert response.status_code == 200
    answer = response.json()
    assert (answer["delivered"], answer["status"], answer["retry"]) == (False, 400, False)
    assert answer["answer"] == '{"error": "scripted"}'
    body = orjson.loads(receiver.requests[0].body)
    assert body["event"]["type"] == "destination-test"


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"kind": "carrier-pigeon", "config": {}}, ["body", "kind"]),
        ({"kind": "webhook", "config": {}}, ["body", "config", "url"]),
        ({"kind": "webhook", "config": {"url": "ftp://x"}}, ["body", "config", "url"]),
        ({"kind": "webhook", "config": {"url": "http://x", "secret": "nope"}}, None),
        ({"kind": "webhook", "condition": "profile@a ==", "config": {"url": "http://x"}}, None),
        ({"kind": "webhook", "mapping": {"a": "{{event@x"}, "config": {"url": "http://x"}}, None),
        ({"kind": "slack", "config": {"url": "http://x", "text": "{{"}}, None),
    ],
)
def test_invalid_destinations_are_422(
    client: TestClient, admin: dict[str, str], fields: dict[str, Any], where: list[str] | None
) -> None:
    response = client.put("/api/destinations/bad", json=fields, headers=admin)
    assert response.status_code == 422, response.text
    if where is not None:
        assert response.json()["detail"][0]["loc"][: len(where)] == where
    assert client.get("/api/destinations/bad", headers=admin).status_code == 404


def test_delete_removes_the_destination_and_its_queue(
    client: TestClient, admin: dict[str, str], receiver: Receiver
) -> None:
    receiver.answer = lambda request, count: 400
    put_destination(client, admin, "crm", kind="webhook", config={"url": receiver.url})
    assert client.delete("/api/destinations/crm", headers=admin).status_code == 204
    assert client.get("/api/destinations/crm", headers=admin).status_code == 404
    assert client.delete("/api/destinations/crm", headers=admin).status_code == 404
    assert client.get("/api/destinations/crm/deliveries", headers=admin).status_code == 404


def test_kinds_are_listed_with_their_docs(client: TestClient, admin: dict[str, str]) -> None:
    kinds = {k["kind"]: k for k in client.get("/api/destination-kinds", headers=admin).json()}
    assert set(kinds) >= {"webhook", "slack", "email", "amqp", "segment"}
    assert kinds["webhook"]["secrets"] == ["secret"]
    assert "url" in kinds["webhook"]["config_schema"]["properties"]
    assert "webhook-signature" in kinds["webhook"]["docs"]


def test_erasing_a_person_drops_their_queued_deliveries(
    fast: TestClient, admin: dict[str, str], receiver: Receiver
) -> None:
    receiver.answer = lambda request, count: 503
    put_destination(
        fast, admin, "crm", kind="webhook", event_types=["purchase"], config={"url": receiver.url}
    )
    answer = track(fast, "purchase")
    other = track(fast, "purchase")
    receiver.wait_for(lambda r: len(r.requests) >= 2)
    erased = fast.delete(f"/api/profiles/{answer['profile']['id']}", headers=admin)
    assert erased.status_code == 200, erased.text
    (left,) = deliveries(fast, admin, "crm")
    assert left["profile"] == other["profile"]["id"]
