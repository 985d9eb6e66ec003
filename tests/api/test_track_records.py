"""POST /track: what is stored. Session enrichment and event records.

Black-box tests of API.md section 1 and the Session / Event shapes of section
2, driven by the browser snippet's payload in tests/fixtures/browser.json."""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.api.helpers import Json, all_events, get_json
from tests.conftest import FIXTURES

BROWSER = json.loads((FIXTURES / "browser.json").read_text())
SESSION_ID = BROWSER["session"]["id"]
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
CHROME = BROWSER["context"]["browser"]["local"]["browser"]["userAgent"]

EVENT_KEYS = {
    "id",
    "type",
    "name",
    "metadata",
    "source",
    "session",
    "profile",
    "properties",
    "context",
    "tags",
    "request",
    "hit",
    "os",
    "app",
    "device",
    "utm",
}
SESSION_KEYS = {
    "id",
    "profile",
    "metadata",
    "device",
    "os",
    "app",
    "utm",
    "context",
    "properties",
}


def track_browser(client: TestClient, **headers: str) -> Json:
    response = client.post(
        "/track", content=json.dumps(BROWSER), headers={"Content-Type": "text/plain", **headers}
    )
    assert response.status_code == 200, response.text
    return response.json()


def with_user_agent(session_id: str, user_agent: str) -> Json:
    return {
        "source": {"id": "web-shop"},
        "session": {"id": session_id},
        "context": {"browser": {"local": {"browser": {"userAgent": user_agent}}}},
        "events": [{"type": "page-view"}],
    }


# --- session enrichment -------------------------------------------------------------


def test_browser_payload_enriches_the_session(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    answer = track_browser(client)

    session = get_json(client, admin, f"/api/sessions/{SESSION_ID}")
    assert set(session) == SESSION_KEYS
    assert session["id"] == SESSION_ID
    assert session["profile"] == {"id": answer["profile"]["id"]}
    assert set(session["metadata"]) == {"time", "channel", "status"}
    assert set(session["metadata"]["time"]) == {"create", "insert", "update"}
    assert session["metadata"]["channel"] == "web"
    assert session["metadata"]["status"] == "active"
    assert set(session["device"]) == {
        "name",
        "brand",
        "model",
        "type",
        "ip",
        "resolution",
        "geo",
        "id",  # the payload's own device.id
    }
    assert session["device"]["id"] == "0d8b7b66-3f3c-4d3a-9b0e-6d6f5a1c2b33"
    assert set(session["os"]) == {"name", "version"}
    assert set(session["app"]) == {"type", "name", "version", "language", "bot"}
    assert set(session["utm"]) == {"source", "medium", "campaign", "term", "content"}

    assert session["os"]["name"] == "Windows"
    assert session["app"]["name"] == "Chrome"
    assert session["app"]["language"] == "pl-PL"
    assert session["app"]["bot"] is False
    assert session["device"]["resolution"] == "1920x1080"
    assert session["device"]["type"] == "desktop"
    assert session["utm"] == {
        "source": "newsletter",
        "medium": "email",
        "campaign": "black-friday",
        "term": None,
        "content": "hero",
    }


def test_browser_payload_profile_id_is_not_adopted(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    """The fixture's profile id is unknown and web-shop is not a static-id source."""
    answer = track_browser(client)

    assert answer["profile"]["id"] != BROWSER["profile"]["id"]
    missing = client.get(f"/api/profiles/{BROWSER['profile']['id']}", headers=admin)
    assert missing.status_code == 404


# --- event records ------------------------------------------------------------------


def test_browser_payload_event_records_have_the_event_shape(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    answer = track_browser(client)
    profile_id = answer["profile"]["id"]
    session = get_json(client, admin, f"/api/sessions/{SESSION_ID}")
    assert len(answer["events"]) == 2
    page_view, product_view = (
        get_json(client, admin, f"/api/events/{event_id}") for event_id in answer["events"]
    )

    for event, sent in zip((page_view, product_view), BROWSER["events"], strict=True):
        assert set(event) == EVENT_KEYS
        metadata = event["metadata"]
        assert set(metadata) == {"time", "status", "valid", "error", "profile_less", "channel"}
        assert set(metadata["time"]) == {"insert", "create"}
        assert all(isinstance(metadata["time"][k], str) for k in ("insert", "create"))
        assert metadata["status"] == "collected"
        assert metadata["valid"] is True
        assert metadata["error"] is None
        assert metadata["profile_less"] is False
        assert metadata["channel"] == "web"
        assert event["source"] == {"id": "web-shop"}
        assert event["session"] == {"id": SESSION_ID}
        assert event["profile"] == {"id": profile_id}
        assert event["properties"] == sent["properties"]
        assert event["context"] == sent["context"]
        assert event["tags"] == []
        assert set(event["request"]) == {"headers", "ip"}
        assert isinstance(event["request"]["headers"], dict)
        assert set(event["hit"]) == {"url", "title", "referer"}
        # the visit's enrichment travels with each event
        for part in ("os", "app", "device", "utm"):
            assert event[part] == session[part], part

    assert (page_view["id"], page_view["type"], page_view["name"]) == (
        answer["events"][0],
        "page-view",
        "Page View",
    )
    assert (product_view["type"], product_view["name"]) == ("product-view", "Product View")

    # `hit` comes from the event's context.page
    page = BROWSER["events"][0]["context"]["page"]
    assert page_view["hit"] == {
        "url": page["url"],
        "title": "Runner shoes",
        "referer": page["referer"],
    }
    assert product_view["hit"] == {
        "url": "https://shop.example.com/shoes/runner",
        "title": "Runner shoes",
        "referer": None,
    }


def test_hit_falls_back_to_the_payload_page_context(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    body = {
        "source": {"id": "web-shop"},
        "session": {"id": "visit-1"},
        "context": {"page": {"url": "https://shop.example.com/", "title": "Home"}},
        "events": [{"type": "page-view"}],
    }

    answer = client.post("/track", json=body).json()

    event = get_json(client, admin, f"/api/events/{answer['events'][0]}")
    assert event["hit"] == {"url": "https://shop.example.com/", "title": "Home", "referer": None}


def test_request_headers_never_hold_authorization_or_cookie(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    track_browser(
        client,
        Authorization="Bearer top-secret-token",
        Cookie="sid=session-secret",
        **{"X-Trace-Id": "trace-1"},
    )

    events = all_events(client, admin)
    assert len(events) == 5  # two own events and three system events
    for event in events:
        headers = {name.lower(): value for name, value in event["request"]["headers"].items()}
        assert "authorization" not in headers
        assert "cookie" not in headers
        assert headers.get("x-trace-id") == "trace-1"
        stored = json.dumps(event)
        assert "top-secret-token" not in stored
        assert "session-secret" not in stored


def test_event_tags_are_kept(client: TestClient, admin: dict[str, str], web_source: str) -> None:
    body = {
        "source": {"id": "web-shop"},
        "events": [
            {"type": "page-view", "tags": ["promo", "Summer Sale", "promo-2"]},
            {"type": "page-view"},
        ],
    }

    answer = client.post("/track", json=body).json()

    tagged, untagged = (get_json(client, admin, f"/api/events/{i}") for i in answer["events"])
    assert tagged["tags"] == ["promo", "Summer Sale", "promo-2"]
    assert untagged["tags"] == []


def test_context_and_properties_shallow_merge_into_the_session(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    first = {
        "source": {"id": "web-shop"},
        "session": {"id": "visit-1"},
        "context": {"cart": {"items": 1, "currency": "EUR"}, "ab": "A"},
        "properties": {"plan": "free", "prefs": {"dark": True}},
        "events": [{"type": "page-view"}],
    }
    second = {
        "source": {"id": "web-shop"},
        "session": {"id": "visit-1"},
        "context": {"cart": {"items": 2}, "locale": "pl"},
        "properties": {"prefs": {"lang": "pl"}, "seen": 3},
        "events": [{"type": "page-view"}],
    }

    assert client.post("/track", json=first).status_code == 200
    after_first = get_json(client, admin, "/api/sessions/visit-1")
    assert after_first["context"] == first["context"]
    assert after_first["properties"] == first["properties"]

    assert client.post("/track", json=second).status_code == 200
    session = get_json(client, admin, "/api/sessions/visit-1")
    # shallow: top-level keys are replaced whole, never deep-merged
    assert session["context"] == {"cart": {"items": 2}, "ab": "A", "locale": "pl"}
    assert session["properties"] == {"plan": "free", "prefs": {"lang": "pl"}, "seen": 3}


# --- bots ---------------------------------------------------------------------------


def test_bots_are_rejected_when_configured(
    make_client: Callable[..., TestClient], admin: dict[str, str]
) -> None:
    client = make_client(reject_bots=True)
    created = client.post(
        "/api/sources", json={"id": "web-shop", "bridges": ["rest"]}, headers=admin
    )
    assert created.status_code == 201

    from_context = client.post("/track", json=with_user_agent("bot-1", GOOGLEBOT))
    header_only = {
        "source": {"id": "web-shop"},
        "session": {"id": "bot-2"},
        "events": [{"type": "page-view"}],
    }
    from_header = client.post("/track", json=header_only, headers={"User-Agent": GOOGLEBOT})

    for response in (from_context, from_header):
        assert response.status_code == 401
        assert "detail" in response.json()
        assert "x-process-time" in response.headers
    assert all_events(client, admin) == []
    for session_id in ("bot-1", "bot-2"):
        assert client.get(f"/api/sessions/{session_id}", headers=admin).status_code == 404

    human = client.post("/track", json=with_user_agent("human-1", CHROME))
    assert human.status_code == 200, human.text


def test_bots_are_accepted_and_flagged_by_default(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    response = client.post("/track", json=with_user_agent("bot-1", GOOGLEBOT))

    assert response.status_code == 200, response.text
    session = get_json(client, admin, "/api/sessions/bot-1")
    assert session["app"]["bot"] is True
