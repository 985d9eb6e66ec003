"""POST /track: payload options, ephemeral sources, idempotent event ids, profile_less.

Black-box tests of API.md section 1 ("Options", the event `id` rule and the
`?profile_less=true` query)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import Json, all_events, get_json, new_source, parse_time, payload, track
from tests.conftest import FIXTURES


def status_of(client: TestClient, admin: dict[str, str], path: str) -> int:
    return client.get(path, headers=admin).status_code


TWO_EVENTS = [{"type": "page-view"}, {"type": "product-view", "properties": {"sku": "A"}}]


# --- saveEvents ---------------------------------------------------------------------


def test_save_events_false_stores_no_events_but_lists_their_ids(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    response = track(
        client, payload(session="visit-1", events=TWO_EVENTS, options={"saveEvents": False})
    )

    ids = response["events"]
    assert len(ids) == 2 and len(set(ids)) == 2
    assert all(isinstance(i, str) and i for i in ids)
    assert all_events(client, admin) == []
    for event_id in ids:
        assert status_of(client, admin, f"/api/events/{event_id}") == 404
    # only the events are skipped: the session and the profile are stored
    assert status_of(client, admin, "/api/sessions/visit-1") == 200
    assert status_of(client, admin, f"/api/profiles/{response['profile']['id']}") == 200


def test_save_events_false_keeps_a_client_event_id_unstored(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    events = [{"type": "page-view", "id": "evt-1"}]
    skipped = track(
        client, payload(session="visit-1", events=events, options={"saveEvents": False})
    )
    assert skipped["events"] == ["evt-1"]
    assert status_of(client, admin, "/api/events/evt-1") == 404

    # nothing was stored, so the same id sent normally is a first delivery
    stored = track(client, payload(session="visit-1", events=events))
    assert stored["events"] == ["evt-1"]
    assert status_of(client, admin, "/api/events/evt-1") == 200


# --- saveSession --------------------------------------------------------------------


def test_save_session_false_stores_no_session(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    response = track(client, payload(session="visit-1", options={"saveSession": False}))

    assert response["session"] == {"id": None}
    assert status_of(client, admin, "/api/sessions/visit-1") == 404
    assert all_events(client, admin, type="session-opened") == []
    # events and the profile are still stored
    assert status_of(client, admin, f"/api/events/{response['events'][0]}") == 200
    assert status_of(client, admin, f"/api/profiles/{response['profile']['id']}") == 200


def test_save_session_false_without_session_id_answers_null_session(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    response = track(client, payload(options={"saveSession": False}))

    assert response["session"] == {"id": None}
    assert all_events(client, admin, type="session-opened") == []


# --- saveProfile --------------------------------------------------------------------


def test_save_profile_false_does_not_store_a_new_profile(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    response = track(client, payload(session="visit-1", options={"saveProfile": False}))

    profile_id = response["profile"]["id"]
    if profile_id is not None:
        assert status_of(client, admin, f"/api/profiles/{profile_id}") == 404
    # no profile was created, so no profile-created event either
    assert all_events(client, admin, type="profile-created") == []
    assert status_of(client, admin, f"/api/events/{response['events'][0]}") == 200


def test_save_profile_false_does_not_change_an_existing_profile(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    profile_id = track(client, payload(session="visit-1"))["profile"]["id"]
    before = get_json(client, admin, f"/api/profiles/{profile_id}")

    response = track(
        client,
        payload(session="visit-2", profile=profile_id, options={"saveProfile": False}),
    )

    assert response["profile"] == {"id": profile_id}
    assert get_json(client, admin, f"/api/profiles/{profile_id}") == before


# --- only booleans count ------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"saveEvents": "false", "saveSession": "false", "saveProfile": "false"},
        {"saveEvents": 0, "saveSession": 0, "saveProfile": 0},
        {"saveEvents": None, "saveSession": None, "saveProfile": None},
        {"saveEvents": [], "saveSession": {}, "saveProfile": "no"},
    ],
    ids=["strings", "zeros", "nulls", "containers"],
)
def test_non_boolean_option_values_count_as_the_default(
    client: TestClient, admin: dict[str, str], web_source: str, options: Json
) -> None:
    response = track(client, payload(session="visit-1", options=options))

    assert response["session"] == {"id": "visit-1"}
    assert status_of(client, admin, "/api/sessions/visit-1") == 200
    assert status_of(client, admin, f"/api/profiles/{response['profile']['id']}") == 200
    assert status_of(client, admin, f"/api/events/{response['events'][0]}") == 200
    assert len(all_events(client, admin, type="profile-created")) == 1


def test_explicit_true_options_behave_like_the_default(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    options = {"saveEvents": True, "saveSession": True, "saveProfile": True, "debugger": False}

    response = track(client, payload(session="visit-1", options=options))

    assert response["session"] == {"id": "visit-1"}
    assert status_of(client, admin, "/api/sessions/visit-1") == 200
    assert status_of(client, admin, f"/api/events/{response['events'][0]}") == 200


# --- ephemeral source ---------------------------------------------------------------


def test_ephemeral_source_stores_nothing_but_answers(
    client: TestClient, admin: dict[str, str]
) -> None:
    new_source(client, admin, "kiosk", ephemeral=True)

    response = track(client, payload(source="kiosk", session="visit-1", events=TWO_EVENTS))

    assert response["session"] == {"id": "visit-1"}
    assert isinstance(response["profile"]["id"], str)
    assert len(response["events"]) == 2
    assert all_events(client, admin) == []
    assert status_of(client, admin, "/api/sessions/visit-1") == 404
    assert status_of(client, admin, f"/api/profiles/{response['profile']['id']}") == 404


# --- client event ids ---------------------------------------------------------------


def test_client_event_id_is_kept_and_a_retry_stores_nothing_new(
    client: TestClient, admin: dict[str, str]
) -> None:
    new_source(client, admin, "shop-backend")
    body = (FIXTURES / "checkout.json").read_bytes()

    first = client.post("/track", content=body)
    second = client.post("/track", content=body)

    assert first.status_code == 200, first.text
    assert second.status_code == 200, second.text
    assert first.json()["events"] == ["order-10023-completed"]
    assert second.json()["events"] == ["order-10023-completed"]
    stored = all_events(client, admin, source="shop-backend")
    assert [e["id"] for e in stored] == ["order-10023-completed"]

    event = get_json(client, admin, "/api/events/order-10023-completed")
    sent = json.loads(body)["events"][0]
    assert event["type"] == "order-completed"
    assert event["name"] == "Order Completed"
    assert event["properties"] == sent["properties"]
    assert event["tags"] == ["backend", "erp"]
    # the client's creation time is kept beside the server's insert time
    created = parse_time(event["metadata"]["time"]["create"])
    inserted = parse_time(event["metadata"]["time"]["insert"])
    assert created == datetime(2026, 11, 29, 10, 20, tzinfo=UTC)
    assert abs(inserted - datetime.now(UTC)) < timedelta(minutes=5)


def test_retried_event_id_changes_nothing_stored(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    original = [{"type": "order-completed", "id": "evt-1", "properties": {"total": 10}}]
    retry = [{"type": "order-completed", "id": "evt-1", "properties": {"total": 99}}]
    track(client, payload(session="visit-1", events=original))
    before = all_events(client, admin)

    response = track(client, payload(session="visit-1", events=retry))

    assert response["events"] == ["evt-1"]
    assert all_events(client, admin) == before
    assert get_json(client, admin, "/api/events/evt-1")["properties"] == {"total": 10}


def test_retry_through_a_static_profile_source_stores_nothing_new(
    client: TestClient, admin: dict[str, str]
) -> None:
    new_source(client, admin, "shop-backend", static_profile_id=True)
    body = (FIXTURES / "checkout.json").read_bytes()
    assert client.post("/track", content=body).status_code == 200
    before = all_events(client, admin)

    again = client.post("/track", content=body)

    assert again.status_code == 200
    assert again.json()["profile"] == {"id": "b8a0f1f4-0b7e-4f3a-8f44-6d2a3b6c9e11"}
    assert all_events(client, admin) == before


# --- ?profile_less=true -------------------------------------------------------------


def test_profile_less_query_processes_events_without_a_profile(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    response = track(
        client,
        payload(session="visit-1", profile="someone", events=TWO_EVENTS),
        profile_less="true",
    )

    assert response["profile"] == {"id": None}
    assert len(response["events"]) == 2
    for event_id in response["events"]:
        event = get_json(client, admin, f"/api/events/{event_id}")
        assert event["profile"] is None
        assert event["metadata"]["profile_less"] is True
        assert event["source"] == {"id": "web-shop"}
    assert all_events(client, admin, type="profile-created") == []
    assert all_events(client, admin, type="visit-started") == []
    assert status_of(client, admin, "/api/profiles/someone") == 404


def test_profile_less_false_is_the_normal_path(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    response = track(client, payload(session="visit-1"), profile_less="false")

    profile_id = response["profile"]["id"]
    assert isinstance(profile_id, str)
    event = get_json(client, admin, f"/api/events/{response['events'][0]}")
    assert event["profile"] == {"id": profile_id}
    assert event["metadata"]["profile_less"] is False
