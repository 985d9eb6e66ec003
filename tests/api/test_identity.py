"""Merge keys and merging over HTTP: one person, one profile, nothing lost."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import (
    all_events,
    assert_validation_error,
    get_json,
    get_profile,
    get_session,
    new_source,
    payload,
    track,
)

Headers = dict[str, str]


def identify(client: TestClient, session: str, **properties: Any) -> dict[str, Any]:
    return track(
        client, payload(session=session, events=[{"type": "identify", "properties": properties}])
    )


def visit(client: TestClient, session: str) -> str:
    profile_id: str = track(client, payload(session=session))["profile"]["id"]
    return profile_id


def test_default_settings_and_round_trip(client: TestClient, admin: Headers) -> None:
    settings = get_json(client, admin, "/api/settings/identity")
    assert settings["keys"] == [
        {"path": "data.contact.email.main", "normalise": "email", "limit": 5, "priority": 2},
        {"path": "data.identifier.id", "normalise": "trim", "limit": 1, "priority": 1},
        {"path": "data.contact.phone.main", "normalise": "phone", "limit": 5, "priority": 3},
    ]
    assert {"test@test.com", "null", "undefined", "none", "n/a", "0", "-", "unknown"} <= set(
        settings["blocked_values"]
    )
    assert settings["max_profiles_per_merge"] == 10
    assert settings["phone_region"] is None
    settings["phone_region"] = "de"
    settings["blocked_values"] = ["nobody@example.com"]
    settings["keys"][1]["limit"] = 2
    response = client.put("/api/settings/identity", json=settings, headers=admin)
    assert response.status_code == 200, response.text
    stored = get_json(client, admin, "/api/settings/identity")
    assert stored == {**settings, "phone_region": "DE"}


def test_the_old_shape_is_still_accepted(client: TestClient, admin: Headers) -> None:
    old = {
        "merge_keys": [
            {"path": "data.identifier.id", "normalise": "text"},
            {"path": "traits.card", "normalise": "text"},
        ],
        "phone_region": None,
    }
    response = client.put("/api/settings/identity", json=old, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["keys"] == [
        {"path": "data.identifier.id", "normalise": "trim", "limit": 1, "priority": 1},
        {"path": "traits.card", "normalise": "trim", "limit": None, "priority": 10},
    ]
    assert "null" in response.json()["blocked_values"]  # the defaults
    assert get_json(client, admin, "/api/settings/identity") == response.json()


def test_bad_settings_are_422(client: TestClient, admin: Headers) -> None:
    response = client.put(
        "/api/settings/identity",
        json={"keys": [{"path": "traits.a"}, {"path": "ids"}]},
        headers=admin,
    )
    assert_validation_error(response, ["body", "keys", 1, "path"])
    response = client.put(
        "/api/settings/identity",
        json={"merge_keys": [{"path": "traits.a"}, {"path": "ids"}]},
        headers=admin,
    )
    assert_validation_error(response, ["body", "merge_keys", 1, "path"])
    response = client.put(
        "/api/settings/identity", json={"keys": [], "phone_region": "XX"}, headers=admin
    )
    assert_validation_error(response, ["body", "phone_region"])
    for bad in (
        {"keys": [{"path": "a", "normalise": "soundex"}]},
        {"keys": [{"path": "a", "limit": 0}]},
        {"max_profiles_per_merge": 1},
        {"blocked_values": "null"},
    ):
        response = client.put("/api/settings/identity", json=bad, headers=admin)
        assert_validation_error(response, check_text=False)


def test_two_devices_one_email_become_one_profile(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    phone_profile = visit(client, "phone-1")
    identify(client, "phone-1", email="Ann@Example.com", firstname="Ann")
    laptop_profile = visit(client, "laptop-1")
    track(client, payload(session="laptop-1", n_events=2))
    answer = identify(client, "laptop-1", email=" ann@example.COM ", lastname="Lee")

    assert answer["profile"]["id"] == phone_profile  # the older one survives
    merged = get_profile(client, admin, phone_profile)
    assert merged is not None
    assert set(merged["ids"]) == {phone_profile, laptop_profile}
    assert merged["data"]["pii"] == {"firstname": "Ann", "lastname": "Lee"}
    assert merged["stats"]["visits"] == 2
    assert merged["metadata"]["time"]["visit"]["count"] == 2
    assert merged["stats"]["views"] == 4
    # the old id resolves, in the API and in /track
    assert get_profile(client, admin, laptop_profile) == merged
    again = track(client, payload(session="new-laptop-visit", profile=laptop_profile))
    assert again["profile"]["id"] == phone_profile
    # sessions and events moved to the survivor
    session = get_session(client, admin, "laptop-1")
    assert session is not None and session["profile"] == {"id": phone_profile}
    events = all_events(client, admin, profile=phone_profile)
    assert {e["session"]["id"] for e in events if e["session"]} >= {"phone-1", "laptop-1"}
    assert all(e["profile"]["id"] == phone_profile for e in events)
    assert all_events(client, admin, profile=laptop_profile) == events  # resolved filter
    merge_events = [e for e in events if e["type"] == "profile-merged"]
    assert [e["properties"]["merged"] for e in merge_events] == [[laptop_profile]]


def test_a_known_session_of_a_merged_profile_follows_the_survivor(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    first = visit(client, "a")
    identify(client, "a", email="x@y.io")
    second = visit(client, "b")
    identify(client, "b", email="x@y.io")
    answer = track(client, payload(session="b"))
    assert answer["profile"]["id"] == first != second
    profile = get_profile(client, admin, first)
    assert profile is not None and profile["stats"]["visits"] == 2


def test_email_of_a_and_phone_of_b_join_three_profiles(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    a = visit(client, "sa")
    identify(client, "sa", email="a@x.io", firstname="Ann")
    b = visit(client, "sb")
    identify(client, "sb", phone="+44 20 7946 0958", lastname="Bee")
    c = visit(client, "sc")
    answer = identify(client, "sc", email="A@X.io", phone="+442079460958")

    assert answer["profile"]["id"] == a
    merged = get_profile(client, admin, a)
    assert merged is not None
    assert set(merged["ids"]) == {a, b, c}
    assert merged["stats"]["visits"] == 3
    assert merged["data"]["pii"] == {"firstname": "Ann", "lastname": "Bee"}
    for old in (b, c):
        assert get_profile(client, admin, old) == merged


def test_conflicting_values_are_kept_in_merge_conflicts(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    a = visit(client, "sa")
    identify(client, "sa", email="a@x.io", firstname="Ann")
    visit(client, "sb")
    identify(client, "sb", firstname="Anna")  # later change wins
    identify(client, "sb", email="a@x.io")
    merged = get_profile(client, admin, a)
    assert merged is not None
    assert merged["data"]["pii"]["firstname"] == "Anna"
    conflicts = merged["aux"]["merge_conflicts"]["data.pii.firstname"]
    assert [c["value"] for c in conflicts] == ["Ann"]


def test_static_id_backend_and_anonymous_web_do_not_inflate_visits(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    new_source(client, admin, "crm", static_profile_id=True)
    web = visit(client, "web-1")
    identify(client, "web-1", email="ann@example.com")
    for _ in range(3):  # server-side calls: no session, the CRM's own id
        backend = {"type": "identify", "properties": {"email": "ann@example.com", "id": "crm-9"}}
        answer = track(client, payload(source="crm", profile="crm-9", events=[backend]))
        assert answer["profile"]["id"] == web
    profile = get_profile(client, admin, "crm-9")
    assert profile is not None and profile["id"] == web
    assert "crm-9" in profile["ids"]
    assert profile["stats"]["visits"] == 1
    assert profile["metadata"]["time"]["visit"]["count"] == 1


def test_a_changed_merge_key_takes_effect(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    settings = {"merge_keys": [{"path": "traits.loyalty_card", "normalise": "text"}]}
    assert client.put("/api/settings/identity", json=settings, headers=admin).status_code == 200
    client.put(
        "/api/event-types/card-scanned",
        json={"mapping": [{"from": "event@properties.card", "to": "profile@traits.loyalty_card"}]},
        headers=admin,
    )
    scan = [{"type": "card-scanned", "properties": {"card": "L-1"}}]
    a = track(client, payload(session="till-1", events=scan))["profile"]["id"]
    b = track(client, payload(session="till-2", events=scan))["profile"]["id"]
    assert a == b
    # e-mail is no longer a key
    c = identify(client, "s3", email="z@z.io")["profile"]["id"]
    d = identify(client, "s4", email="z@z.io")["profile"]["id"]
    assert c != d


@pytest.mark.parametrize("save_profile", [False])
def test_no_merge_when_the_profile_is_not_saved(
    client: TestClient, admin: Headers, web_source: str, save_profile: bool
) -> None:
    a = identify(client, "s1", email="q@q.io")["profile"]["id"]
    body = payload(
        session="s2",
        events=[{"type": "identify", "properties": {"email": "q@q.io"}}],
        options={"saveProfile": save_profile},
    )
    b = track(client, body)["profile"]["id"]
    assert a != b
    assert get_profile(client, admin, a) is not None
