"""POST /track: rejections (401, 422, 413), what is tolerated, and normalisation.

Black-box tests of API.md section 1 ("Rules", "Errors"). After every rejection
nothing may be stored."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api import helpers
from tests.api.helpers import Json, all_events, assert_validation_error, new_source
from tests.conftest import FIXTURES

# payloads here carry session "visit-1" unless they say otherwise
payload = partial(helpers.payload, session="visit-1")


def assert_nothing_stored(
    client: TestClient, admin: dict[str, str], session_id: str = "visit-1"
) -> None:
    assert all_events(client, admin) == []
    assert client.get(f"/api/sessions/{session_id}", headers=admin).status_code == 404


def assert_process_time(response: Any) -> None:
    value = response.headers.get("x-process-time")
    assert value is not None, f"no x-process-time on {response.status_code}"
    assert float(value) >= 0


# --- 401 ----------------------------------------------------------------------------


@pytest.mark.parametrize("source_id", ["no-such-source", "@internal", "@web-shop"])
def test_unknown_or_internal_source_is_401(
    client: TestClient, admin: dict[str, str], web_source: str, source_id: str
) -> None:
    response = client.post("/track", json=payload(source=source_id))

    assert response.status_code == 401
    assert "detail" in response.json()
    assert_process_time(response)
    assert_nothing_stored(client, admin)


def test_disabled_source_is_401(client: TestClient, admin: dict[str, str]) -> None:
    new_source(client, admin, "paused", enabled=False)

    response = client.post("/track", json=payload(source="paused"))

    assert response.status_code == 401
    assert "detail" in response.json()
    assert_nothing_stored(client, admin)


def test_source_disabled_after_use_is_401(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    assert client.post("/track", json=payload(session="before")).status_code == 200
    source = client.get("/api/sources/web-shop", headers=admin).json()
    source["enabled"] = False
    assert client.put("/api/sources/web-shop", json=source, headers=admin).status_code == 200
    stored = all_events(client, admin)

    response = client.post("/track", json=payload(session="after"))

    assert response.status_code == 401
    assert all_events(client, admin) == stored
    assert client.get("/api/sessions/after", headers=admin).status_code == 404


def test_source_without_rest_bridge_is_401(client: TestClient, admin: dict[str, str]) -> None:
    new_source(client, admin, "hooks-only", bridges=["webhook"])

    response = client.post("/track", json=payload(source="hooks-only"))

    assert response.status_code == 401
    assert "detail" in response.json()
    assert_nothing_stored(client, admin)


# --- 422 ----------------------------------------------------------------------------

VALID_EVENT = {"type": "page-view"}
SOURCE = {"id": "web-shop"}
SESSION = {"id": "visit-1"}

SCHEMA_BREAKS: list[tuple[str, Json | list[Any], list[str | int]]] = [
    ("not-an-object", [], ["body"]),
    ("missing-source", {"session": SESSION, "events": [VALID_EVENT]}, ["body", "source"]),
    (
        "source-without-id",
        {"source": {}, "session": SESSION, "events": [VALID_EVENT]},
        ["body", "source", "id"],
    ),
    (
        "source-id-not-a-string",
        {"source": {"id": 7}, "session": SESSION, "events": [VALID_EVENT]},
        ["body", "source", "id"],
    ),
    (
        "empty-event-type",
        {"source": SOURCE, "session": SESSION, "events": [{"type": "   "}]},
        ["body", "events", 0, "type"],
    ),
    (
        "empty-type-on-second-event",
        {"source": SOURCE, "session": SESSION, "events": [VALID_EVENT, {"type": ""}]},
        ["body", "events", 1, "type"],
    ),
    (
        "missing-event-type",
        {"source": SOURCE, "session": SESSION, "events": [{"properties": {}}]},
        ["body", "events", 0, "type"],
    ),
    (
        "event-type-not-a-string",
        {"source": SOURCE, "session": SESSION, "events": [{"type": 42}]},
        ["body", "events", 0, "type"],
    ),
    (
        "events-not-a-list",
        {"source": SOURCE, "session": SESSION, "events": VALID_EVENT},
        ["body", "events"],
    ),
    (
        "event-properties-not-an-object",
        {"source": SOURCE, "session": SESSION, "events": [{"type": "a", "properties": "x"}]},
        ["body", "events", 0, "properties"],
    ),
    (
        "event-tags-not-a-list",
        {"source": SOURCE, "session": SESSION, "events": [{"type": "a", "tags": "x"}]},
        ["body", "events", 0, "tags"],
    ),
    (
        "event-time-not-a-time",
        {
            "source": SOURCE,
            "session": SESSION,
            "events": [{"type": "a", "time": {"create": "yesterday"}}],
        },
        ["body", "events", 0, "time", "create"],
    ),
    (
        "session-id-not-a-string",
        {"source": SOURCE, "session": {"id": 5}, "events": [VALID_EVENT]},
        ["body", "session", "id"],
    ),
    (
        "profile-id-not-a-string",
        {"source": SOURCE, "session": SESSION, "profile": {"id": []}, "events": [VALID_EVENT]},
        ["body", "profile", "id"],
    ),
    (
        "properties-not-an-object",
        {"source": SOURCE, "session": SESSION, "properties": [], "events": [VALID_EVENT]},
        ["body", "properties"],
    ),
    (
        "context-not-an-object",
        {"source": SOURCE, "session": SESSION, "context": "x", "events": [VALID_EVENT]},
        ["body", "context"],
    ),
    (
        "options-not-an-object",
        {"source": SOURCE, "session": SESSION, "options": [], "events": [VALID_EVENT]},
        ["body", "options"],
    ),
]


@pytest.mark.parametrize(
    ("body", "loc"), [(b, loc) for _, b, loc in SCHEMA_BREAKS], ids=[n for n, _, _ in SCHEMA_BREAKS]
)
def test_schema_break_is_422_with_its_location(
    client: TestClient,
    admin: dict[str, str],
    web_source: str,
    body: Json | list[Any],
    loc: list[str | int],
) -> None:
    response = client.post("/track", json=body)

    assert_validation_error(response, loc)
    assert_process_time(response)
    assert_nothing_stored(client, admin)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"source": {"id": "web-shop"}, "session": {"id": "visit-1"}, "events": [',
        b"{'source': {'id': 'web-shop'}}",
        b"not json at all",
        b"",
    ],
    ids=["truncated", "single-quotes", "garbage", "empty"],
)
def test_malformed_json_is_422(
    client: TestClient, admin: dict[str, str], web_source: str, raw: bytes
) -> None:
    response = client.post("/track", content=raw, headers={"Content-Type": "application/json"})

    assert_validation_error(response)
    assert_process_time(response)
    assert_nothing_stored(client, admin)


def test_too_many_events_is_422(
    make_client: Callable[..., TestClient], admin: dict[str, str]
) -> None:
    client = make_client(max_events=3)
    new_source(client, admin, "web-shop")
    events = [{"type": "page-view"}] * 4

    response = client.post("/track", json=payload(events=events))

    assert_validation_error(response, ["body", "events"])
    assert_nothing_stored(client, admin)
    assert client.post("/track", json=payload(events=events[:3])).status_code == 200


# --- 413 ----------------------------------------------------------------------------


def sized_body(size: int) -> bytes:
    """A valid payload padded with trailing JSON whitespace to exactly `size` bytes."""
    raw = json.dumps(payload()).encode()
    assert len(raw) <= size
    return raw + b" " * (size - len(raw))


def test_body_over_the_limit_is_413(
    make_client: Callable[..., TestClient], admin: dict[str, str]
) -> None:
    client = make_client(max_body_bytes=2048)
    new_source(client, admin, "web-shop")
    big = payload(events=[{"type": "page-view", "properties": {"blob": "x" * 3000}}])

    response = client.post("/track", json=big)

    assert response.status_code == 413
    assert "detail" in response.json()
    assert_process_time(response)
    assert_nothing_stored(client, admin)


def test_body_limit_is_inclusive(
    make_client: Callable[..., TestClient], admin: dict[str, str]
) -> None:
    client = make_client(max_body_bytes=2048)
    new_source(client, admin, "web-shop")

    over = client.post("/track", content=sized_body(2049))
    assert over.status_code == 413
    assert_nothing_stored(client, admin)

    at_limit = client.post("/track", content=sized_body(2048))
    assert at_limit.status_code == 200, at_limit.text


def test_streamed_body_over_the_limit_is_413(
    make_client: Callable[..., TestClient], admin: dict[str, str]
) -> None:
    """No Content-Length (chunked): the limit still holds while reading."""
    client = make_client(max_body_bytes=2048)
    new_source(client, admin, "web-shop")
    raw = sized_body(4096)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(raw), 512):
            yield raw[start : start + 512]

    response = client.post("/track", content=chunks())

    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert response.status_code == 413
    assert_nothing_stored(client, admin)


# --- what is tolerated --------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/json",
        "application/x-www-form-urlencoded",
        "application/octet-stream",
    ],
)
def test_any_content_type_is_accepted(
    client: TestClient, admin: dict[str, str], web_source: str, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    raw = json.dumps(payload()).encode()

    response = client.post("/track", content=raw, headers=headers)

    if content_type is None:
        assert "content-type" not in {k.lower() for k in response.request.headers}
    assert response.status_code == 200, response.text
    assert client.get("/api/sessions/visit-1", headers=admin).status_code == 200
    event_id = response.json()["events"][0]
    assert client.get(f"/api/events/{event_id}", headers=admin).status_code == 200


def test_unknown_top_level_fields_are_ignored(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    browser = (FIXTURES / "browser.json").read_bytes()
    assert "device" in json.loads(browser)

    response = client.post("/track", content=browser, headers={"Content-Type": "text/plain"})
    extra = client.post(
        "/track", json=payload(session="visit-2", device={"id": "d-1"}, unknown=[1, 2], x=None)
    )

    assert response.status_code == 200, response.text
    assert extra.status_code == 200, extra.text
    assert len(response.json()["events"]) == 2


# --- normalisation ------------------------------------------------------------------


def test_event_types_are_normalised_and_named(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    sent = ["  Order Completed ", "Page View", "page-view", "ADD-TO-CART", "Sign Up\t"]
    events = [{"type": raw} for raw in sent]

    response = client.post("/track", json=payload(events=events))

    assert response.status_code == 200, response.text
    stored = [
        client.get(f"/api/events/{i}", headers=admin).json() for i in response.json()["events"]
    ]
    assert [(e["type"], e["name"]) for e in stored] == [
        ("order-completed", "Order Completed"),
        ("page-view", "Page View"),
        ("page-view", "Page View"),
        ("add-to-cart", "Add To Cart"),
        ("sign-up", "Sign Up"),
    ]


def test_ids_are_trimmed(client: TestClient, admin: dict[str, str], web_source: str) -> None:
    first = client.post("/track", json=payload(session="visit-1")).json()
    profile_id = first["profile"]["id"]
    body = {
        "source": {"id": "  web-shop  "},
        "session": {"id": "  visit-2 "},
        "profile": {"id": f"  {profile_id}  "},
        "events": [{"type": "page-view", "id": " evt-1  "}],
    }

    response = client.post("/track", json=body)

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["session"] == {"id": "visit-2"}
    assert answer["profile"] == {"id": profile_id}
    assert answer["events"] == ["evt-1"]
    event = client.get("/api/events/evt-1", headers=admin)
    assert event.status_code == 200
    assert event.json()["source"] == {"id": "web-shop"}
    assert event.json()["session"] == {"id": "visit-2"}
    session = client.get("/api/sessions/visit-2", headers=admin)
    assert session.status_code == 200
    assert session.json()["profile"] == {"id": profile_id}


def test_static_profile_id_is_trimmed(client: TestClient, admin: dict[str, str]) -> None:
    new_source(client, admin, "crm", static_profile_id=True)

    response = client.post("/track", json={**payload(source="crm"), "profile": {"id": "  crm-7 "}})

    assert response.status_code == 200, response.text
    assert response.json()["profile"] == {"id": "crm-7"}
    profile = client.get("/api/profiles/crm-7", headers=admin)
    assert profile.status_code == 200
    assert profile.json()["id"] == "crm-7"


# --- response envelope --------------------------------------------------------------


def test_success_response_shape_and_process_time(client: TestClient, web_source: str) -> None:
    response = client.post("/track", json=payload())

    assert response.status_code == 200
    assert_process_time(response)
    body = response.json()
    assert set(body) == {
        "task",
        "profile",
        "session",
        "events",
        "ux",
        "response",
        "errors",
        "warnings",
    }
    uuid.UUID(body["task"])
    assert body["session"] == {"id": "visit-1"}
    assert isinstance(body["profile"]["id"], str)
    assert body["ux"] == [] and body["response"] == {}
    assert body["errors"] == [] and body["warnings"] == []
