"""Identity rules over HTTP, on both engines: a person's 12th and 25th device still
merge, junk values never do, limits and the bound on one merge refuse visibly."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.api.helpers import (
    Headers,
    Json,
    all_events,
    get_json,
    get_profile,
    payload,
    track,
)

EMAIL = "data.contact.email.main"
CID = "data.identifier.id"


def identify(client: TestClient, session: str, **properties: Any) -> Json:
    return track(
        client, payload(session=session, events=[{"type": "identify", "properties": properties}])
    )


def identities(client: TestClient, admin: Headers, profile_id: str) -> list[Json]:
    body = get_json(client, admin, f"/api/profiles/{profile_id}/identities?limit=1000")
    items: list[Json] = body["items"]
    return items


def refused(client: TestClient, admin: Headers, profile_id: str | None = None) -> list[Json]:
    filters = {"type": "merge-refused", **({"profile": profile_id} if profile_id else {})}
    return all_events(client, admin, **filters)


def test_twelve_first_visits_at_once_with_one_email_give_one_profile(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    body = [{"type": "identify", "properties": {"email": "ann@example.com"}}, {"type": "page-view"}]
    with ThreadPoolExecutor(12) as pool:
        answers = list(
            pool.map(
                lambda n: client.post("/track", json=payload(f"browser-{n}", events=body)),
                range(12),
            )
        )
    assert [a.status_code for a in answers] == [200] * 12, [a.text for a in answers]
    survivors = {
        get_json(client, admin, f"/api/sessions/browser-{n}")["profile"]["id"] for n in range(12)
    }
    assert len(survivors) == 1
    profile = get_profile(client, admin, survivors.pop())
    assert profile is not None
    assert len(profile["ids"]) == 12
    assert profile["stats"]["visits"] == 12 and profile["stats"]["views"] == 12
    assert all(a.json()["warnings"] == [] for a in answers)
    assert refused(client, admin) == []


def test_twenty_five_devices_one_after_another_give_one_profile(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    first = None
    for n in range(25):
        anonymous = track(client, payload(f"device-{n}"))["profile"]["id"]
        answer = identify(client, f"device-{n}", email="Kim@Example.com")
        first = first or anonymous
        assert answer["profile"]["id"] == first and answer["warnings"] == []
    profile = get_profile(client, admin, first or "")
    assert profile is not None
    assert len(profile["ids"]) == 25
    assert profile["stats"]["visits"] == 25
    kinds = [entry["kind"] for entry in identities(client, admin, profile["id"])]
    assert kinds.count("id") == 25 and kinds.count(EMAIL) == 1


def test_a_blocked_value_never_claims_nor_merges(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    answers = [identify(client, f"s{n}", email=" TEST@test.com ", id="undefined") for n in range(3)]
    owners = {answer["profile"]["id"] for answer in answers}
    assert len(owners) == 3
    for answer in answers:
        assert len(answer["warnings"]) == 2
        assert all("blocked" in warning for warning in answer["warnings"])
        assert "test@test.com" not in str(answer["warnings"]).lower()
    for owner in owners:
        assert [e["kind"] for e in identities(client, admin, owner)] == ["id"]
        events = refused(client, admin, owner)
        assert sorted(e["properties"]["key"] for e in events) == [EMAIL, CID]
        assert {e["properties"]["rule"] for e in events} == {"blocked"}
        assert all(e["properties"]["profile"] is None for e in events)
    # the profile still holds what it was told, trimmed
    profile = get_profile(client, admin, owners.pop())
    assert profile is not None and profile["data"]["contact"]["email"]["main"] == "TEST@test.com"


def test_user_blocked_values_are_normalised_first(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    settings = get_json(client, admin, "/api/settings/identity")
    settings["blocked_values"] = ["Front.Desk@Hotel.example"]
    assert client.put("/api/settings/identity", json=settings, headers=admin).status_code == 200
    a = identify(client, "a", email="front.desk@hotel.example")["profile"]["id"]
    b = identify(client, "b", email="FRONT.DESK@hotel.example ")["profile"]["id"]
    assert a != b
    # "null" is no longer blocked: the list replaced the defaults
    c = identify(client, "c", id="null")["profile"]["id"]
    assert identify(client, "d", id="null")["profile"]["id"] == c


def test_a_second_customer_id_is_refused_by_its_limit(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    """A household shares one e-mail; each person has their own customer id."""
    ann = identify(client, "ann", email="home@family.example", id="c-ann")["profile"]["id"]
    answer = identify(client, "bob", email="home@family.example", id="c-bob")
    bob = answer["profile"]["id"]
    assert bob != ann
    assert len(answer["warnings"]) == 1
    warning = answer["warnings"][0]
    assert "data.identifier.id" in warning and "limit" in warning
    assert ann not in warning and "home@family" not in warning and "c-ann" not in warning
    (event,) = refused(client, admin, bob)
    assert event["properties"] == {"key": CID, "rule": "limit", "profile": ann, "via": EMAIL}
    assert event["source"]["id"] == "@internal" and event["session"]["id"] == "bob"
    assert "home@family" not in str(event) and "c-ann" not in str(event["properties"])
    # the e-mail stays Ann's; Bob keeps his own customer id
    assert {(e["kind"], e["value"]) for e in identities(client, admin, bob)} == {
        ("id", bob),
        (CID, "c-bob"),
    }
    # one profile gaining a second customer id does not claim it either
    again = identify(client, "ann", id="c-other")
    assert again["profile"]["id"] == ann
    assert any("not claimed" in w and "data.identifier.id" in w for w in again["warnings"])
    cids = [e["value"] for e in identities(client, admin, ann) if e["kind"] == CID]
    assert cids == ["c-ann"]
    assert identify(client, "other", id="c-other")["profile"]["id"] != ann
    counters = client.app.state.services.identity_counters.snapshot()  # type: ignore[attr-defined]
    assert counters["refused.limit"] == 2


def test_max_profiles_per_merge_refuses_one_request_joining_eleven(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    settings = {"keys": [{"path": "traits.cards", "normalise": "trim"}]}
    assert client.put("/api/settings/identity", json=settings, headers=admin).status_code == 200
    mapping = {"mapping": [{"from": "event@properties.cards", "to": "profile@traits.cards"}]}
    assert (
        client.put("/api/event-types/cards-shown", json=mapping, headers=admin).status_code == 200
    )

    def show(session: str, cards: list[str]) -> Json:
        event = {"type": "cards-shown", "properties": {"cards": cards}}
        return track(client, payload(session, events=[event]))

    owners = [show(f"till-{n}", [f"card-{n}"])["profile"]["id"] for n in range(10)]
    assert len(set(owners)) == 10
    answer = show("kiosk", [f"card-{n}" for n in range(10)])
    assert answer["profile"]["id"] not in owners
    assert len(answer["warnings"]) == 10
    assert all("max_profiles_per_merge" in w for w in answer["warnings"])
    events = refused(client, admin, answer["profile"]["id"])
    assert {e["properties"]["rule"] for e in events} == {"max_profiles_per_merge"}
    assert sorted(e["properties"]["profile"] for e in events) == sorted(owners)
    for owner in owners:
        found = get_profile(client, admin, owner)
        assert found is not None and found["id"] == owner
    # ten profiles at once (nine and the asking one) are within the bound
    joined = show("kiosk-2", [f"card-{n}" for n in range(9)])
    profile = get_profile(client, admin, joined["profile"]["id"])
    assert profile is not None and len(profile["ids"]) == 10 and joined["warnings"] == []


def test_refused_merges_are_counted_in_event_stats(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    identify(client, "a", email="shared@x.example", id="c-1")
    identify(client, "b", email="shared@x.example", id="c-2")
    identify(client, "c", email="test@test.com")
    now = datetime.now(UTC)
    query = {
        "interval": "hour",
        "by": "type",
        "from": (now - timedelta(hours=1)).isoformat(),
        "to": (now + timedelta(hours=1)).isoformat(),
    }
    response = client.get("/api/events/stats", params=query, headers=admin)
    assert response.status_code == 200, response.text
    total = sum(b["groups"].get("merge-refused", 0) for b in response.json()["buckets"])
    assert total == 2


def test_stored_contact_values_are_trimmed(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    answer = identify(
        client, "s", email="  Ann@Example.com\t", phone=" +44 20 7946 0958 ", id=" c-9 "
    )
    profile = get_profile(client, admin, answer["profile"]["id"])
    assert profile is not None
    assert profile["data"]["contact"]["email"]["main"] == "Ann@Example.com"
    assert profile["data"]["contact"]["phone"]["main"] == "+44 20 7946 0958"
    assert profile["data"]["identifier"]["id"] == "c-9"
    keys = {(e["kind"], e["value"]) for e in identities(client, admin, profile["id"])}
    assert (EMAIL, "ann@example.com") in keys and (CID, "c-9") in keys
    assert ("data.contact.phone.main", "+442079460958") in keys
