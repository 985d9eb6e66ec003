"""PUT /track batches and the four /collect webhook routes.

Black-box tests of API.md section 1 ("PUT /track", "/collect (webhooks)")."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import (
    Json,
    all_events,
    assert_validation_error,
    get_json,
    new_source,
    payload,
)
from tests.conftest import FIXTURES
from tests.destinations.receivers import Receiver, running

RESPONSE_KEYS = {"task", "profile", "session", "events", "ux", "response", "errors", "warnings"}


def assert_tracker_response(body: Json) -> None:
    assert set(body) == RESPONSE_KEYS
    assert body["ux"] == [] and body["response"] == {}
    assert body["errors"] == [] and body["warnings"] == []


# --- PUT /track ---------------------------------------------------------------------


def test_batch_is_processed_in_order_and_answered_in_order(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    batch = [payload("b-1"), payload("b-2", n_events=2), payload("b-1")]

    response = client.put("/track", json=batch)

    assert response.status_code == 200, response.text
    assert "x-process-time" in response.headers
    answers = response.json()
    assert isinstance(answers, list) and len(answers) == 3
    for answer in answers:
        assert_tracker_response(answer)
    assert [a["session"]["id"] for a in answers] == ["b-1", "b-2", "b-1"]
    assert [len(a["events"]) for a in answers] == [1, 2, 1]
    # the third payload sees the session the first one created
    assert answers[2]["profile"] == answers[0]["profile"]
    assert answers[1]["profile"] != answers[0]["profile"]
    for answer in answers:
        for event_id in answer["events"]:
            event = get_json(client, admin, f"/api/events/{event_id}")
            assert event["session"] == answer["session"]
            assert event["profile"] == answer["profile"]
    profile = get_json(client, admin, f"/api/profiles/{answers[0]['profile']['id']}")
    assert profile["stats"]["visits"] == 1


def test_batch_with_one_unknown_source_is_401_and_stores_nothing(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    batch = [payload("b-1"), payload("b-2", source="no-such-source"), payload("b-3")]

    response = client.put("/track", json=batch)

    assert response.status_code == 401
    assert "detail" in response.json()
    assert all_events(client, admin) == []
    for session_id in ("b-1", "b-2", "b-3"):
        assert client.get(f"/api/sessions/{session_id}", headers=admin).status_code == 404


def test_batch_with_one_invalid_payload_is_422_and_stores_nothing(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    bad = {"source": {"id": "web-shop"}, "session": {"id": "b-2"}, "events": [{"type": " "}]}

    response = client.put("/track", json=[payload("b-1"), bad])

    assert_validation_error(response, ["body", 1, "events", 0, "type"], check_text=False)
    assert all_events(client, admin) == []
    assert client.get("/api/sessions/b-1", headers=admin).status_code == 404


@pytest.mark.parametrize(
    "body",
    [payload("b-1"), "not a list", None],
    ids=["single-object", "string", "null"],
)
def test_batch_body_must_be_an_array(
    client: TestClient, admin: dict[str, str], web_source: str, body: Any
) -> None:
    response = client.put("/track", content=json.dumps(body))

    assert_validation_error(response, check_text=False)
    assert all_events(client, admin) == []


def test_batch_with_too_many_payloads_is_422(
    make_client: Callable[..., TestClient], admin: dict[str, str]
) -> None:
    client = make_client(max_batch_payloads=2)
    new_source(client, admin, "web-shop")

    response = client.put("/track", json=[payload("b-1"), payload("b-2"), payload("b-3")])

    assert_validation_error(response, check_text=False)
    assert all_events(client, admin) == []
    assert client.put("/track", json=[payload("b-1"), payload("b-2")]).status_code == 200


# --- /collect with a session --------------------------------------------------------


def test_post_collect_with_session(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    form = {"email": "grace@example.org", "list": "weekly", "nested": {"a": [1, 2]}}

    first = client.post("/collect/newsletter-signup/web-shop/hook-visit-1", json=form)
    second = client.post("/collect/newsletter-signup/web-shop/hook-visit-1", json={"n": 2})

    assert first.status_code == 200, first.text
    assert second.status_code == 200, second.text
    assert "x-process-time" in first.headers
    answer = first.json()
    assert_tracker_response(answer)
    profile_id = answer["profile"]["id"]
    assert isinstance(profile_id, str) and profile_id
    assert answer["session"] == {"id": "hook-visit-1"}
    assert len(answer["events"]) == 1
    assert second.json()["profile"] == {"id": profile_id}

    event = get_json(client, admin, f"/api/events/{answer['events'][0]}")
    assert event["type"] == "newsletter-signup"
    assert event["name"] == "Newsletter Signup"
    assert event["properties"] == form
    assert event["source"] == {"id": "web-shop"}
    assert event["session"] == {"id": "hook-visit-1"}
    assert event["profile"] == {"id": profile_id}
    assert event["metadata"]["profile_less"] is False
    later = get_json(client, admin, f"/api/events/{second.json()['events'][0]}")
    assert later["properties"] == {"n": 2}
    session = get_json(client, admin, "/api/sessions/hook-visit-1")
    assert session["profile"] == {"id": profile_id}


def test_get_collect_with_session_uses_the_query_string(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    first = client.get("/collect/form-submit/web-shop/hook-visit-2?plan=pro&seats=3")
    second = client.get("/collect/form-submit/web-shop/hook-visit-2?plan=team")

    assert first.status_code == 200, first.text
    assert second.status_code == 200, second.text
    assert "x-process-time" in first.headers
    answer = first.json()
    assert_tracker_response(answer)
    assert answer["session"] == {"id": "hook-visit-2"}
    assert second.json()["profile"] == answer["profile"]
    event = get_json(client, admin, f"/api/events/{answer['events'][0]}")
    assert event["type"] == "form-submit"
    assert event["properties"] == {"plan": "pro", "seats": "3"}
    assert event["profile"] == answer["profile"]
    assert event["session"] == {"id": "hook-visit-2"}


def test_collect_resolves_the_profile_of_a_track_session(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    tracked = client.post("/track", json=payload("visit-1")).json()

    posted = client.post("/collect/form-submit/web-shop/visit-1", json={"a": 1})
    fetched = client.get("/collect/form-submit/web-shop/visit-1?a=1")

    assert posted.json()["profile"] == tracked["profile"]
    assert fetched.json()["profile"] == tracked["profile"]


# --- /collect without a session -----------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_collect_without_session_is_profile_less(
    client: TestClient, admin: dict[str, str], web_source: str, method: str
) -> None:
    if method == "POST":
        response = client.post("/collect/price-alert/web-shop", json={"sku": "RUN-42"})
    else:
        response = client.get("/collect/price-alert/web-shop?sku=RUN-42")

    assert response.status_code == 200, response.text
    assert "x-process-time" in response.headers
    answer = response.json()
    assert_tracker_response(answer)
    assert answer["profile"] == {"id": None}
    assert answer["session"] == {"id": None}
    assert len(answer["events"]) == 1
    event = get_json(client, admin, f"/api/events/{answer['events'][0]}")
    assert event["type"] == "price-alert"
    assert event["properties"] == {"sku": "RUN-42"}
    assert event["profile"] is None
    assert event["session"] is None
    assert event["metadata"]["profile_less"] is True
    # no profile and no session, so no system events either
    assert [e["id"] for e in all_events(client, admin)] == answer["events"]


def test_webhook_fixture_request(client: TestClient, admin: dict[str, str]) -> None:
    head, _, body = (FIXTURES / "webhook-form.txt").read_text().partition("\n\n")
    method, path, _ = head.splitlines()[0].split(" ")
    headers = dict(line.split(": ", 1) for line in head.splitlines()[1:])
    new_source(client, admin, "mailer-hook", bridges=["webhook"])

    response = client.request(method, path, content=body.strip(), headers=headers)

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["profile"] == {"id": None}
    event = get_json(client, admin, f"/api/events/{answer['events'][0]}")
    assert event["type"] == "newsletter-signup"
    assert event["source"] == {"id": "mailer-hook"}
    assert event["properties"] == json.loads(body)


# --- /collect errors ----------------------------------------------------------------

COLLECT_CALLS = [
    ("POST", "/collect/form-submit/{source}/hook-visit-1"),
    ("GET", "/collect/form-submit/{source}/hook-visit-1?a=1"),
    ("POST", "/collect/form-submit/{source}"),
    ("GET", "/collect/form-submit/{source}?a=1"),
]


def call(client: TestClient, method: str, path: str) -> Any:
    if method == "POST":
        return client.post(path, json={"a": 1})
    return client.get(path)


@pytest.mark.parametrize(("method", "path"), COLLECT_CALLS)
def test_collect_requires_the_webhook_bridge(
    client: TestClient, admin: dict[str, str], method: str, path: str
) -> None:
    new_source(client, admin, "rest-only", bridges=["rest"])

    response = call(client, method, path.format(source="rest-only"))

    assert response.status_code == 401
    assert "detail" in response.json()
    assert "x-process-time" in response.headers
    assert all_events(client, admin) == []
    assert client.get("/api/sessions/hook-visit-1", headers=admin).status_code == 404


@pytest.mark.parametrize("source_id", ["no-such-source", "@internal", "paused"])
@pytest.mark.parametrize(("method", "path"), COLLECT_CALLS)
def test_collect_rejects_unknown_internal_and_disabled_sources(
    client: TestClient, admin: dict[str, str], method: str, path: str, source_id: str
) -> None:
    new_source(client, admin, "paused", enabled=False)

    response = call(client, method, path.format(source=source_id))

    assert response.status_code == 401
    assert all_events(client, admin) == []


@pytest.mark.parametrize(
    "path", ["/collect/form-submit/web-shop/hook-visit-1", "/collect/form-submit/web-shop"]
)
def test_collect_malformed_json_is_422(
    client: TestClient, admin: dict[str, str], web_source: str, path: str
) -> None:
    response = client.post(
        path, content=b'{"email": "grace@', headers={"Content-Type": "application/json"}
    )

    assert_validation_error(response, check_text=False)
    assert "x-process-time" in response.headers
    assert all_events(client, admin) == []
    assert client.get("/api/sessions/hook-visit-1", headers=admin).status_code == 404


def test_collect_body_over_the_limit_is_413(
    make_client: Callable[..., TestClient], admin: dict[str, str]
) -> None:
    client = make_client(max_body_bytes=2048)
    new_source(client, admin, "web-shop")

    response = client.post("/collect/form-submit/web-shop/hook-visit-1", json={"x": "y" * 3000})

    assert response.status_code == 413
    assert all_events(client, admin) == []


def test_a_batch_of_many_visitors_and_repeat_visits_is_exact(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    """Payloads of one session stay in order while other visitors' run alongside."""
    batch = []
    for round_ in range(3):
        for visitor in range(20):
            events = [{"type": "page-view", "properties": {"round": round_}}]
            batch.append({"source": {"id": "web-shop"}, "session": {"id": f"v{visitor}"},
                          "events": events})  # fmt: skip
    response = client.put("/track", json=batch)
    assert response.status_code == 200, response.text
    answers = response.json()
    assert len(answers) == 60
    for visitor in range(20):
        mine = answers[visitor::20]
        assert {a["session"]["id"] for a in mine} == {f"v{visitor}"}
        assert len({a["profile"]["id"] for a in mine}) == 1
        profile = client.get(f"/api/profiles/{mine[0]['profile']['id']}", headers=admin).json()
        assert profile["stats"]["visits"] == 1 and profile["stats"]["views"] == 3
        events = client.get(
            "/api/events", params={"session": f"v{visitor}", "type": "page-view"}, headers=admin
        ).json()["items"]
        assert [e["properties"]["round"] for e in events] == [2, 1, 0]  # newest first


def test_a_batch_of_two_sessions_of_one_person_loses_no_update(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    """Unrelated payloads run as one group, but two sessions bound to one profile in
    the store are not unrelated: both page views count."""
    first = client.post("/track", json=payload("one-a")).json()["profile"]["id"]
    second = client.post("/track", json=payload("one-b", profile=first)).json()["profile"]["id"]
    assert second == first
    before = get_json(client, admin, f"/api/profiles/{first}")["stats"]["views"]

    batch = [payload("one-a"), payload("other-1"), payload("one-b"), payload("other-2")]
    response = client.put("/track", json=batch)

    assert response.status_code == 200, response.text
    answers = response.json()
    assert [a["profile"]["id"] == first for a in answers] == [True, False, True, False]
    profile = get_json(client, admin, f"/api/profiles/{first}")
    assert profile["stats"]["views"] == before + 2


def test_two_payloads_of_a_batch_claiming_one_email_become_one_profile(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    identify = [{"type": "identify", "properties": {"email": "both@example.com"}}]
    batch = [payload("claim-1", events=identify), payload("claim-2", events=identify)]

    response = client.put("/track", json=batch)

    assert response.status_code == 200, response.text
    answers = response.json()
    assert answers[0]["profile"]["id"] == answers[1]["profile"]["id"]
    survivor = get_json(client, admin, f"/api/profiles/{answers[0]['profile']['id']}")
    assert survivor["data"]["contact"]["email"]["main"] == "both@example.com"
    for session_id in ("claim-1", "claim-2"):
        session = get_json(client, admin, f"/api/sessions/{session_id}")
        assert session["profile"] == {"id": survivor["id"]}


def test_a_batch_with_a_bot_stores_nothing(
    make_client: Callable[..., TestClient], admin: dict[str, str]
) -> None:
    client = make_client(reject_bots=True)
    new_source(client, admin, "web-shop")
    bot = payload(
        "bot-1", context={"browser": {"local": {"browser": {"userAgent": "Googlebot/2.1"}}}}
    )

    response = client.put("/track", json=[payload("human-1"), bot, payload("human-2")])

    assert response.status_code >= 400
    assert all_events(client, admin) == []


def test_a_batch_whose_new_session_another_request_stored_starts_again(
    client: TestClient, admin: dict[str, str], web_source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first hit stores its session without a lock; a batch that read the session as
    missing inserts it and fails, stores nothing, and tracks each payload again."""
    first = client.post("/track", json=payload("raced-1")).json()["profile"]["id"]
    tracking = client.app.state.services.storage.tracking  # type: ignore[attr-defined]

    async def nothing_found(session_ids: list[str]) -> dict[str, Any]:
        return {}  # as if read before the first hit committed

    monkeypatch.setattr(tracking, "get_sessions", nothing_found)
    response = client.put("/track", json=[payload("raced-1"), payload("raced-2")])

    assert response.status_code == 200, response.text
    answers = response.json()
    assert answers[0]["profile"]["id"] == first
    assert answers[1]["profile"]["id"] != first
    assert get_json(client, admin, f"/api/profiles/{first}")["stats"]["views"] == 2
    assert len(all_events(client, admin, session="raced-2", type="page-view")) == 1


def test_a_batch_runs_a_sync_flow_once_per_event_even_when_payloads_claim_keys(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    """A sync flow may call other systems: a batch whose payloads claim e-mails (which
    a grouped batch builds twice) must not make those calls twice."""
    with running(Receiver()) as receiver:
        flow = {
            "mode": "sync",
            "nodes": [
                {"id": "start", "type": "start"},
                {
                    "id": "call",
                    "type": "http-call",
                    "config": {"url": receiver.url, "body": {"event": "event@id"}},
                },
            ],
            "edges": [{"from": "start", "to": "call"}],
        }
        for method, path, body in (
            ("PUT", "/api/flows/notify", flow),
            ("POST", "/api/flows/notify/deploy", None),
            ("PUT", "/api/rules/notify", {"flow": "notify", "event_type": "identify"}),
        ):
            response = client.request(method, path, json=body, headers=admin)
            assert response.status_code < 300, response.text
        batch = [
            payload(f"notify-{n}", events=[{"type": "identify",
                                            "properties": {"email": f"p{n}@example.com"}}])
            for n in range(4)
        ]  # fmt: skip
        response = client.put("/track", json=batch)
        assert response.status_code == 200, response.text
        called = sorted(json.loads(r.body)["event"] for r in receiver.requests)
    stored = sorted(e["id"] for e in all_events(client, admin, type="identify"))
    assert called == stored and len(stored) == 4
