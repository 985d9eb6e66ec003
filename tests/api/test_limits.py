"""Input limits on the collector: each breach is a 4xx naming the field, and stores nothing.

Nesting depth, id and event-type length and properties per event are new here;
body size and events per payload have their own tests in test_track_errors.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import Json, all_events, assert_validation_error, new_source, payload


def nested(depth: int) -> Any:
    """A JSON value `depth` levels deep: depth 1 is `{}`."""
    value: Any = {}
    for level in range(depth - 1):
        value = {"k": value} if level % 2 else [value]
    return value


def assert_rejected(
    client: TestClient, admin: dict[str, str], response: Any, loc: list[str | int]
) -> None:
    detail = assert_validation_error(response)
    assert detail[0]["loc"][: len(loc)] == loc, detail
    assert all_events(client, admin) == []
    assert client.get("/api/sessions/limits-1", headers=admin).status_code == 404


def assert_path_error(response: Any, loc: list[str | int]) -> None:
    """A 422 about the webhook's path (its parts are the payload's fields)."""
    assert response.status_code == 422, response.text
    assert loc in [item["loc"] for item in response.json()["detail"]], response.text


def post(client: TestClient, body: Json | list[Json]) -> Any:
    return client.post("/track", content=orjson.dumps(body))


# the body is level 1, an event's properties level 4, so properties may nest 29 more
def test_nesting_up_to_the_limit_is_accepted(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    body = payload("limits-1", events=[{"type": "deep", "properties": {"v": nested(28)}}])
    response = post(client, body)
    assert response.status_code == 200, response.text
    [event] = all_events(client, admin, type="deep")
    assert event["properties"]["v"] == nested(28)


@pytest.mark.parametrize(
    ("field", "where"),
    [
        (lambda v: {"events": [{"type": "t", "properties": {"v": v}}]}, ["body", "events", 0]),
        (lambda v: {"events": [{"type": "t", "context": {"v": v}}]}, ["body", "events", 0]),
        (lambda v: {"context": {"v": v}}, ["body", "context"]),
        (lambda v: {"properties": {"v": v}}, ["body", "properties"]),
        (lambda v: {"options": {"v": v}}, ["body", "options"]),
    ],
)
def test_nesting_past_the_limit_is_422_naming_the_field(
    field: Callable[[Any], Json],
    where: list[str | int],
    client: TestClient,
    admin: dict[str, str],
    web_source: str,
) -> None:
    body = {**payload("limits-1"), **field(nested(40))}
    response = post(client, body)
    assert_rejected(client, admin, response, where)
    assert response.json()["detail"][0]["type"] == "too_deep"
    assert "32" in response.json()["detail"][0]["msg"]


@pytest.mark.parametrize("depth", [33, 500, 5_000, 100_000])
def test_absurd_nesting_is_422_not_a_crash(
    depth: int, client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    deep = b"[" * depth + b"]" * depth
    body = b'{"source": {"id": "web-shop"}, "session": {"id": "limits-1"}, "events": '
    body += b'[{"type": "t", "properties": {"v": ' + deep + b"}}]}"
    response = client.post("/track", content=body)
    assert_rejected(client, admin, response, ["body"])


def test_depth_limit_is_configurable_and_applies_to_batches_and_webhooks(
    make_client: Callable[..., TestClient], admin: dict[str, str]
) -> None:
    client = make_client(max_json_depth=6)
    new_source(client, admin, "web-shop")
    ok = payload("limits-1", events=[{"type": "t", "properties": {"v": [{}]}}])  # level 6
    too_deep = payload("limits-2", events=[{"type": "t", "properties": {"v": [[{}]]}}])
    assert post(client, ok).status_code == 200
    assert_validation_error(post(client, too_deep), ["body", "events", 0, "properties", "v", 0, 0])
    # in a batch every payload is one level deeper
    response = client.put("/track", content=orjson.dumps([ok]))
    assert_validation_error(response, ["body", 0, "events", 0, "properties", "v", 0])
    response = client.post(
        "/collect/t/web-shop/limits-3",
        content=orjson.dumps({"a": {"b": {"c": {"d": {"e": {"f": {}}}}}}}),
    )
    assert_validation_error(response, ["body", "a", "b", "c", "d", "e", "f"])
    assert len(all_events(client, admin, type="t")) == 1


LONG_FIELDS: list[tuple[str, Callable[[str], Json], list[str | int], int]] = [
    ("source", lambda v: payload(source=v), ["body", "source", "id"], 256),
    ("session", lambda v: payload(v), ["body", "session", "id"], 256),
    ("profile", lambda v: payload("limits-1", profile=v), ["body", "profile", "id"], 256),
    (
        "event id",
        lambda v: payload("limits-1", events=[{"type": "t", "id": v}]),
        ["body", "events", 0, "id"],
        256,
    ),
    (
        "event type",
        lambda v: payload("limits-1", events=[{"type": v}]),
        ["body", "events", 0, "type"],
        128,
    ),
]


@pytest.mark.parametrize(("name", "build", "loc", "limit"), LONG_FIELDS)
def test_ids_and_types_longer_than_the_limit_are_422(
    name: str,
    build: Callable[[str], Json],
    loc: list[str | int],
    limit: int,
    client: TestClient,
    admin: dict[str, str],
    web_source: str,
) -> None:
    response = post(client, build("x" * (limit + 1)))
    assert_rejected(client, admin, response, loc)
    assert response.json()["detail"][0]["type"] == "too_long"


def test_ids_and_types_at_the_limit_are_stored(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    session, event_id, event_type = "s" * 256, "e" * 256, "t" * 128
    body = payload(session, profile="p" * 256, events=[{"type": event_type, "id": event_id}])
    response = post(client, body)
    assert response.status_code == 200, response.text
    assert client.get(f"/api/events/{event_id}", headers=admin).json()["type"] == event_type
    assert client.get(f"/api/sessions/{session}", headers=admin).status_code == 200


def test_length_limits_are_configurable_and_cover_webhook_paths(
    make_client: Callable[..., TestClient], admin: dict[str, str]
) -> None:
    client = make_client(max_id_length=10, max_event_type_length=8)
    new_source(client, admin, "web-shop")
    short = [{"type": "t"}]
    assert post(client, payload("0123456789", events=short)).status_code == 200
    response = post(client, payload("0123456789a", events=short))
    assert_validation_error(response, ["body", "session", "id"])
    response = client.get("/collect/abcdefghi/web-shop/s1")
    assert_path_error(response, ["path", "events", 0, "type"])
    response = client.get("/collect/t/web-shop/0123456789a")
    assert_path_error(response, ["path", "session", "id"])


def test_properties_per_event_are_limited(
    make_client: Callable[..., TestClient], admin: dict[str, str]
) -> None:
    client = make_client(max_event_properties=5)
    new_source(client, admin, "web-shop")
    five = {f"p{i}": i for i in range(5)}
    assert post(client, payload("limits-1", events=[{"type": "t", "properties": five}])).is_success
    six = {**five, "p5": 5}
    events = [{"type": "t"}, {"type": "t", "properties": six}]
    response = post(client, payload("limits-2", events=events))
    assert_validation_error(response, ["body", "events", 1, "properties"])
    response = client.get("/collect/t/web-shop/limits-3", params=six)
    assert_path_error(response, ["path", "events", 0, "properties"])
    assert len(all_events(client, admin, type="t")) == 1


def test_default_limits_match_the_documentation(client: TestClient) -> None:
    settings = client.app.state.services.settings  # type: ignore[attr-defined]
    assert (settings.max_json_depth, settings.max_id_length) == (32, 256)
    assert (settings.max_event_type_length, settings.max_body_bytes) == (128, 1024 * 1024)


def test_integers_past_64_bits_are_422_not_a_500(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    """Found by the volume fuzzer: such a number reached the store's JSON encoder."""
    body = b'{"source": {"id": "web-shop"}, "session": {"id": "limits-1"}, '
    body += b'"context": {"n": 100000000000000000000000000000}}'
    response = client.post("/track", content=body)
    assert_rejected(client, admin, response, ["body", "context", "n"])
    response = client.post(
        "/collect/t/web-shop/limits-1", content=b'{"n": [1e400, 123456789012345678901234]}'
    )
    assert response.status_code in (200, 422), response.text


def test_admin_bodies_over_the_limit_are_413_before_the_key_is_checked(
    make_client: Callable[..., TestClient], admin: dict[str, str]
) -> None:
    client = make_client(max_admin_body_bytes=2048)
    admin = {**admin, "Content-Type": "application/json"}
    big = orjson.dumps({"id": "big", "description": "x" * 3000})
    assert client.post("/api/sources", content=big).status_code == 413
    response = client.post("/api/sources", content=big, headers=admin)
    assert response.status_code == 413 and "2048" in response.json()["detail"]

    def chunks() -> Iterator[bytes]:
        yield b'{"id": "streamed"}'

    assert client.post("/api/sources", content=chunks(), headers=admin).status_code == 413
    small = orjson.dumps({"id": "small", "description": "x" * 1000})
    assert client.post("/api/sources", content=small, headers=admin).status_code == 201
    assert client.get("/api/sources/big", headers=admin).status_code == 404
