"""The collector as browsers and crawlers meet it: unknown paths, wrong methods, device ids,
the profile in the answer, and redirect links (API.md sections 1 and 8)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import all_events, get_json, new_source, payload, track

PREFIXES = ["/track", "/tracker", "/collect", "/healthz", "/redirect"]
SUFFIXES = ["", "/", "/x", "/liliput.min.js", "/a/b/c/d/e", "%2F..%2F", "/loader.min.js"]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]


def test_every_collector_prefix_answers_404_or_405_never_500(
    client: TestClient, web_source: str
) -> None:
    for prefix in PREFIXES:
        for suffix in SUFFIXES:
            for method in METHODS:
                response = client.request(method, prefix + suffix)
                assert response.status_code < 500, (method, prefix + suffix, response.text)
                if response.status_code == 405:
                    assert response.headers.get("allow"), (method, prefix + suffix)
    wrong = client.request("DELETE", "/track")
    assert wrong.status_code == 405 and "POST" in wrong.headers["allow"]
    assert client.get("/track/liliput.min.js").status_code == 404
    assert client.get("/tracker/nope.js").status_code == 404
    assert client.get("/tracker/liliput.min.js").status_code == 200
    assert client.post("/healthz").status_code == 405


def test_the_device_id_is_stored_on_the_session_and_searchable(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    body = payload("s-device", device={"id": "  dev-123 "})
    track(client, body)
    session = get_json(client, admin, "/api/sessions/s-device")
    assert session["device"]["id"] == "dev-123"
    found = get_json(client, admin, "/api/sessions?device=dev-123")["items"]
    assert [item["id"] for item in found] == ["s-device"]
    assert get_json(client, admin, "/api/sessions?device=other")["items"] == []


def test_options_profile_returns_the_profile_without_internal_fields(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    events = [{"type": "identify", "properties": {"email": "ann@example.com"}}]
    plain = track(client, payload("s1", events=events))
    assert set(plain["profile"]) == {"id"}
    answer = track(client, payload("s1", options={"profile": True}))
    profile = answer["profile"]
    assert profile["id"] == plain["profile"]["id"]
    assert profile["data"]["contact"]["email"]["main"] == "ann@example.com"
    assert profile["stats"]["views"] == 1 and "aux" not in profile


@pytest.fixture
def redirect_source(client: TestClient, admin: dict[str, str]) -> str:
    return new_source(client, admin, "links", bridges=["redirect"])


def test_a_redirect_link_stores_its_event_and_answers_302(
    client: TestClient, admin: dict[str, str], web_source: str, redirect_source: str
) -> None:
    response = client.put(
        "/api/redirects/summer",
        json={"url": "https://shop.example/summer?x=1", "event_type": "Campaign Click",
              "source": "links", "properties": {"campaign": "summer"}},
        headers=admin,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    visitor = track(client, payload("known-session"))
    clicked = client.get(
        "/redirect/summer",
        headers={"Cookie": "tracardi-session-id=known-session"},
        follow_redirects=False,
    )
    assert clicked.status_code == 302
    assert clicked.headers["location"] == "https://shop.example/summer?x=1"
    (event,) = all_events(client, admin, type="campaign-click")
    assert event["properties"] == {
        "campaign": "summer", "url": "https://shop.example/summer?x=1", "redirect": "summer"
    }  # fmt: skip
    assert event["profile"]["id"] == visitor["profile"]["id"]
    assert event["session"]["id"] == "known-session" and event["source"]["id"] == "links"
    anonymous = client.get("/redirect/summer", follow_redirects=False)
    assert anonymous.status_code == 302
    events = all_events(client, admin, type="campaign-click")
    assert len(events) == 2 and events[0]["profile"]["id"] != visitor["profile"]["id"]
    assert client.get("/redirect/nope", follow_redirects=False).status_code == 404


def test_a_redirect_only_targets_http_and_a_redirect_source(
    client: TestClient, admin: dict[str, str], web_source: str, redirect_source: str
) -> None:
    for url, source, field in (
        ("javascript:alert(1)", "links", "url"),
        ("data:text/html,hi", "links", "url"),
        ("https://ok.example", "web-shop", "source"),
    ):
        response = client.put(
            "/api/redirects/bad", json={"url": url, "source": source}, headers=admin
        )
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["body", field]
