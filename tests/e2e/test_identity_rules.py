"""Identity rules end to end against a real `kith serve` (issue 19): a person's 12th
and 25th device merge, junk values never do, and every refusal is visible."""

from __future__ import annotations

import asyncio
import uuid

import httpx2 as httpx

from tests.e2e.conftest import Server, create_source
from tests.e2e.test_identity import Json, body, identify, page_view, post, profile_of, send_all

EMAIL = "data.contact.email.main"
CID = "data.identifier.id"


def get(server: Server, path: str, **params: str | int) -> Json:
    response = httpx.get(f"{server.url}{path}", params=params, headers=server.admin, timeout=30)
    assert response.status_code == 200, response.text
    found: Json = response.json()
    return found


def refused(server: Server, profile_id: str) -> list[Json]:
    page = get(server, "/api/events", type="merge-refused", profile=profile_id, limit=1000)
    items: list[Json] = page["items"]
    return items


def test_twelve_new_browsers_identifying_at_once_give_one_profile(server: Server) -> None:
    create_source(server)
    email = f"{uuid.uuid4().hex}@example.com"
    browsers = [str(uuid.uuid4()) for _ in range(12)]
    storm = [body(b, [*identify(email=email), *page_view()]) for b in browsers]
    responses = asyncio.run(send_all(server, storm))
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    survivors = {
        profile_of(server, get(server, f"/api/sessions/{b}")["profile"]["id"])["id"]
        for b in browsers
    }
    assert len(survivors) == 1
    profile = profile_of(server, survivors.pop())
    assert len(profile["ids"]) == 12 and profile["stats"]["visits"] == 12


def test_a_persons_twenty_fifth_device_still_merges(server: Server) -> None:
    create_source(server)
    first = post(server, body("device-0", identify(email="kim@example.com")))["profile"]["id"]
    for n in range(1, 25):
        post(server, body(f"device-{n}", page_view()))
        answer = post(server, body(f"device-{n}", identify(email=" KIM@example.com")))
        assert answer["profile"]["id"] == first and answer["warnings"] == []
    profile = profile_of(server, first)
    assert len(profile["ids"]) == 25 and profile["stats"]["visits"] == 25


def test_a_blocked_value_never_merges(server: Server) -> None:
    create_source(server)
    owners = {
        post(server, body(f"s{n}", identify(email="test@test.com")))["profile"]["id"]
        for n in range(3)
    }
    assert len(owners) == 3
    for owner in owners:
        kinds = [e["kind"] for e in get(server, f"/api/profiles/{owner}/identities")["items"]]
        assert kinds == ["id"]
        (event,) = refused(server, owner)
        assert event["properties"]["rule"] == "blocked" and event["properties"]["key"] == EMAIL


def test_a_second_customer_id_is_refused_and_recorded(server: Server) -> None:
    create_source(server)
    ann = post(server, body("ann", identify(email="home@family.example", id="c-ann")))
    bob = post(server, body("bob", identify(email="home@family.example", id="c-bob")))
    assert bob["profile"]["id"] != ann["profile"]["id"]
    (warning,) = bob["warnings"]
    assert "data.identifier.id" in warning and "limit" in warning
    (event,) = refused(server, bob["profile"]["id"])
    assert event["properties"] == {
        "key": CID,
        "rule": "limit",
        "profile": ann["profile"]["id"],
        "via": EMAIL,
    }


def test_one_request_may_not_join_eleven_profiles(server: Server) -> None:
    create_source(server)
    settings = {"keys": [{"path": "traits.cards", "normalise": "trim"}]}
    response = httpx.put(f"{server.url}/api/settings/identity", json=settings, headers=server.admin)
    assert response.status_code == 200, response.text
    mapping = {"mapping": [{"from": "event@properties.cards", "to": "profile@traits.cards"}]}
    response = httpx.put(
        f"{server.url}/api/event-types/cards-shown", json=mapping, headers=server.admin
    )
    assert response.status_code == 200, response.text

    def show(session: str, cards: list[str]) -> Json:
        return post(
            server, body(session, [{"type": "cards-shown", "properties": {"cards": cards}}])
        )

    owners = {show(f"till-{n}", [f"card-{n}"])["profile"]["id"] for n in range(10)}
    kiosk = show("kiosk", [f"card-{n}" for n in range(10)])
    assert kiosk["profile"]["id"] not in owners
    assert len(kiosk["warnings"]) == 10
    events = refused(server, kiosk["profile"]["id"])
    assert {e["properties"]["profile"] for e in events} == owners
    assert {e["properties"]["rule"] for e in events} == {"max_profiles_per_merge"}


def test_a_back_office_merge_gives_the_automatic_result(server: Server) -> None:
    create_source(server)
    results = []
    for mode in ("auto", "manual"):
        email = f"{mode}@example.com"
        x = post(server, body(f"{mode}-x", [*identify(email=email, firstname="Ann"), *page_view()]))
        y = post(server, body(f"{mode}-y", [*page_view(), *page_view()]))
        if mode == "auto":
            post(server, body(f"{mode}-y", identify(email=email)))
        else:
            response = httpx.post(
                f"{server.url}/api/profiles/{y['profile']['id']}/merge",
                json={"ids": [x["profile"]["id"]]},
                headers=server.admin,
            )
            assert response.status_code == 200, response.text
        profile = profile_of(server, y["profile"]["id"])
        assert profile["id"] == x["profile"]["id"]
        assert set(profile["ids"]) == {x["profile"]["id"], y["profile"]["id"]}
        results.append((profile["stats"], profile["data"]["pii"], profile["segments"]))
        events = get(server, "/api/events", profile=profile["id"], limit=1000)["items"]
        merges = [e["properties"]["merged"] for e in events if e["type"] == "profile-merged"]
        assert merges == [[y["profile"]["id"]]]
        assert {e["session"]["id"] for e in events if e["session"]} == {f"{mode}-x", f"{mode}-y"}
    assert results[0] == results[1]
