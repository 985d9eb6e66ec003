"""The Segment-compatible API over HTTP, on both engines: routes, write keys, the
mapping of section 9, identities and merges, sessions, idempotency, limits."""

from __future__ import annotations

import base64
import gzip
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from kith.domain.external_identity import external_profile_id
from tests.api.helpers import (
    Headers,
    Json,
    all_events,
    get_json,
    get_profile,
    new_source,
    parse_time,
    payload,
    track,
)
from tests.api.test_overload import queued, wait_until, write_lock

SOURCE = "seg-app"


def basic(key: str = SOURCE) -> Headers:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


@pytest.fixture
def segment(client: TestClient, admin: Headers) -> str:
    return new_source(client, admin, SOURCE, bridges=["segment"])


def send(client: TestClient, path: str, body: Any, key: str | None = SOURCE, **headers: str) -> Any:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    auth = basic(key) if key else {}
    return client.post(path, content=raw, headers={**auth, **headers})


def ok(client: TestClient, path: str, body: Any, **headers: str) -> None:
    response = send(client, path, body, **headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True}


def batch(*messages: Json, **envelope: Any) -> Json:
    return {"batch": list(messages), **envelope}


def stored(client: TestClient, admin: Headers) -> list[Json]:
    """This source's own events, oldest first (ids of events without a messageId are
    time-ordered, so events of one request keep their order)."""

    def order(event: Json) -> tuple[str, str, str]:
        times = event["metadata"]["time"]
        return times["create"], times["insert"], event["id"]

    return sorted(all_events(client, admin, source=SOURCE), key=order)


def profile_of(client: TestClient, admin: Headers, external_id: str) -> Json | None:
    return get_profile(client, admin, external_profile_id(external_id))


def six_calls(user: str, anonymous: str) -> list[Json]:
    base = {"userId": user, "anonymousId": anonymous}
    return [
        {"type": "identify", **base, "traits": {"email": f"{user}@x.io", "firstName": "Ann"}},
        {"type": "track", **base, "event": "Order Completed", "properties": {"total": 12.5}},
        {"type": "page", **base, "name": "Home", "properties": {"url": "https://x.io/"}},
        {"type": "screen", **base, "name": "Settings"},
        {"type": "group", **base, "groupId": "acme", "traits": {"plan": "pro"}},
        {"type": "alias", "userId": user, "previousId": anonymous},
    ]


def test_the_six_calls_become_their_kith_events_on_one_profile(
    client: TestClient, admin: Headers, segment: str
) -> None:
    ok(client, "/v1/batch", batch(*six_calls("u-1", "a-1")))
    events = stored(client, admin)
    assert [(e["type"], e["properties"]) for e in events] == [
        ("identify", {"email": "u-1@x.io", "firstname": "Ann", "id": "u-1"}),
        ("order-completed", {"total": 12.5}),
        ("page-view", {"url": "https://x.io/", "name": "Home"}),
        ("screen-view", {"name": "Settings"}),
        ("group-membership", {"groupId": "acme", "traits": {"plan": "pro"}}),
        ("alias", {"previousId": "a-1", "userId": "u-1"}),
    ]
    assert {e["profile"]["id"] for e in events} == {external_profile_id("u-1")}
    profile = profile_of(client, admin, "a-1")
    assert profile is not None and profile["id"] == external_profile_id("u-1")
    assert set(profile["ids"]) == {external_profile_id("u-1"), external_profile_id("a-1")}
    assert profile["data"]["identifier"]["id"] == "u-1"
    assert profile["data"]["contact"]["email"]["main"] == "u-1@x.io"
    assert profile["data"]["pii"]["firstname"] == "Ann"
    assert profile["data"]["metrics"]["orders"] == 1
    assert profile["stats"]["views"] == 1


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/v1/track", "track"),
        ("/v1/t", "track"),
        ("/v1/identify", "identify"),
        ("/v1/i", "identify"),
        ("/v1/page", "page-view"),
        ("/v1/p", "page-view"),
        ("/v1/screen", "screen-view"),
        ("/v1/s", "screen-view"),
        ("/v1/group", "group-membership"),
        ("/v1/g", "group-membership"),
        ("/v1/alias", "alias"),
        ("/v1/a", "alias"),
    ],
)
def test_single_message_paths_store_one_event_of_their_type(
    client: TestClient, admin: Headers, segment: str, path: str, kind: str
) -> None:
    message = {
        "userId": "u",
        "anonymousId": "a",
        "event": "Track",
        "groupId": "g",
        "previousId": "p",
        "type": "ignored",
    }
    ok(client, path, message, **{"Content-Type": "text/plain"})
    assert [e["type"] for e in stored(client, admin)] == [kind]


@pytest.mark.parametrize("path", ["/v1/batch", "/v1/import", "/v1/b"])
def test_batch_paths_store_every_message(
    client: TestClient, admin: Headers, segment: str, path: str
) -> None:
    ok(client, path, batch(*[{"type": "page", "anonymousId": f"a{i}"} for i in range(3)]))
    assert len(stored(client, admin)) == 3


def test_the_write_key_is_the_basic_user_or_the_body_or_query_write_key(
    client: TestClient, admin: Headers, segment: str
) -> None:
    message = {"type": "page", "anonymousId": "a"}
    ok(client, "/v1/batch", batch(message, writeKey=SOURCE), key=None)
    ok(client, "/v1/page", {**message, "writeKey": SOURCE.upper()}, key=None)
    response = client.post(
        f"/beacon/v1/batch?writeKey={SOURCE}", content=orjson.dumps(batch(message))
    )
    assert response.status_code == 200, response.text
    assert len(stored(client, admin)) == 3


@pytest.mark.parametrize(
    "headers",
    [basic("unknown"), basic("web-shop"), basic("@internal"), {}, {"Authorization": "Basic !!"}],
)
def test_a_wrong_write_key_is_a_401_in_segments_shape_and_stores_nothing(
    client: TestClient, admin: Headers, segment: str, web_source: str, headers: Headers
) -> None:
    body = orjson.dumps(batch(*six_calls("u", "a")))
    response = client.post("/v1/batch", content=body, headers=headers)
    assert response.status_code == 401
    answer = response.json()
    assert set(answer) == {"code", "message"} and answer["code"] == "invalid_write_key"
    assert all_events(client, admin) == []


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"[]",
        b'{"batch": 5}',
        orjson.dumps(batch({"type": "page"})),
        orjson.dumps(batch({"type": "track", "userId": "u"})),
        orjson.dumps(batch({"type": "page", "anonymousId": "a"}, {"type": "fly", "userId": "u"})),
        orjson.dumps(batch({"type": "page", "anonymousId": "a", "timestamp": "soon"})),
    ],
)
def test_a_malformed_request_is_a_400_and_stores_nothing(
    client: TestClient, admin: Headers, segment: str, body: bytes
) -> None:
    response = send(client, "/v1/batch", body)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_request" and response.json()["message"]
    assert all_events(client, admin) == []


def test_gzip_bodies_are_accepted_and_a_gzip_bomb_is_a_413(
    client: TestClient, admin: Headers, segment: str
) -> None:
    zipped = gzip.compress(orjson.dumps(batch(*six_calls("u", "a"))))
    ok(client, "/v1/batch", zipped, **{"Content-Encoding": "gzip"})
    assert len(stored(client, admin)) == 6
    bomb = gzip.compress(b" " * (64 << 20), compresslevel=9)
    assert len(bomb) < 200_000
    refused = send(client, "/v1/batch", bomb, **{"Content-Encoding": "gzip"})
    assert refused.status_code == 413
    assert refused.json()["code"] == "payload_too_large"
    plain = send(client, "/v1/batch", b" " * (5 << 20))
    assert plain.status_code == 413
    broken = send(client, "/v1/batch", b"plain text", **{"Content-Encoding": "gzip"})
    assert broken.status_code == 400
    assert send(client, "/v1/batch", zipped, **{"Content-Encoding": "br"}).status_code == 400
    assert len(stored(client, admin)) == 6


def test_a_message_over_32_kib_is_a_413(client: TestClient, admin: Headers, segment: str) -> None:
    big = {"type": "track", "userId": "u", "event": "e", "properties": {"x": "y" * 40_000}}
    assert send(client, "/v1/batch", batch(big)).status_code == 413
    assert send(client, "/v1/track", big).status_code == 413


def test_a_retried_batch_stores_nothing_twice(
    client: TestClient, admin: Headers, segment: str
) -> None:
    kept = str(uuid.uuid4())
    messages = [
        {"type": "track", "userId": "u", "event": "Paid", "messageId": kept},
        {"type": "track", "userId": "u", "event": "Paid", "messageId": "node-next-17-abc"},
        {"type": "identify", "userId": "u", "traits": {"plan": "pro"}, "messageId": "m-3"},
    ]
    for _ in range(3):
        ok(client, "/v1/batch", batch(*messages))
    events = stored(client, admin)
    assert len(events) == 3
    by_type = {event["type"]: event for event in events}
    paid = {
        event["id"]: event["context"].get("messageId")
        for e in events
        if e["type"] == "paid"
        for event in [e]
    }
    assert paid[kept] is None
    assert sorted(paid.values(), key=str) == [None, "node-next-17-abc"]
    assert by_type["identify"]["context"]["messageId"] == "m-3"
    profile = profile_of(client, admin, "u")
    assert profile is not None and profile["stats"]["visits"] == 1


def test_the_clients_clock_skew_is_corrected(
    client: TestClient, admin: Headers, segment: str
) -> None:
    ahead = datetime.now(UTC) + timedelta(days=365)  # the device's clock is a year ahead
    message = {
        "type": "track",
        "anonymousId": "a",
        "event": "Tapped",
        "timestamp": ahead.isoformat(),
        "sentAt": (ahead + timedelta(seconds=30)).isoformat(),
    }
    before = datetime.now(UTC)
    ok(client, "/v1/track", message)
    (event,) = stored(client, admin)
    created = parse_time(event["metadata"]["time"]["create"])
    assert before - timedelta(seconds=35) < created < datetime.now(UTC) - timedelta(seconds=25)
    past = {
        "type": "track",
        "anonymousId": "a",
        "event": "Imported",
        "timestamp": "2020-05-01T08:00:00Z",
    }
    ok(client, "/v1/import", batch(past))
    imported = [e for e in stored(client, admin) if e["type"] == "imported"]
    assert parse_time(imported[0]["metadata"]["time"]["create"]) == datetime(
        2020, 5, 1, 8, tzinfo=UTC
    )


def test_a_segment_identify_and_a_browser_identify_with_the_customer_id_are_one_profile(
    client: TestClient, admin: Headers, segment: str, web_source: str
) -> None:
    ok(client, "/v1/identify", {"userId": "c-42", "traits": {"email": "kim@x.io"}})
    segment_profile = external_profile_id("c-42")
    answer = track(client, payload("browser-1", events=[{"type": "page-view"}]))
    browser_profile = answer["profile"]["id"]
    assert browser_profile != segment_profile
    merged = track(
        client, payload("browser-1", events=[{"type": "identify", "properties": {"id": "c-42"}}])
    )
    assert merged["profile"]["id"] == segment_profile  # the oldest survives
    profile = get_profile(client, admin, browser_profile)
    assert profile is not None and profile["id"] == segment_profile
    assert profile["data"]["contact"]["email"]["main"] == "kim@x.io"
    # and later Segment messages for the user land on the same profile
    ok(client, "/v1/track", {"userId": "c-42", "event": "Paid"})
    owners = {
        e["profile"]["id"] for e in all_events(client, admin) if e["source"]["id"] != "@internal"
    }
    assert owners == {segment_profile}


def test_a_browser_identified_customer_is_found_by_segment_through_the_customer_id(
    client: TestClient, admin: Headers, segment: str, web_source: str
) -> None:
    answer = track(
        client, payload("browser-2", events=[{"type": "identify", "properties": {"id": "c-7"}}])
    )
    browser_profile = answer["profile"]["id"]
    ok(
        client,
        "/v1/batch",
        batch({"type": "track", "userId": "c-7", "anonymousId": "phone", "event": "Opened"}),
    )
    (event,) = stored(client, admin)
    assert event["profile"]["id"] == browser_profile
    profile = profile_of(client, admin, "phone")
    assert profile is not None and profile["id"] == browser_profile


def test_a_segment_identify_merges_with_a_browser_identify_by_email(
    client: TestClient, admin: Headers, segment: str, web_source: str
) -> None:
    ok(client, "/v1/identify", {"anonymousId": "a-9", "traits": {"email": "Lee@x.io"}})
    answer = track(
        client,
        payload("browser-3", events=[{"type": "identify", "properties": {"email": "lee@x.io"}}]),
    )
    assert answer["profile"]["id"] == external_profile_id("a-9")


def test_an_identify_moves_the_devices_anonymous_history_to_the_person(
    client: TestClient, admin: Headers, segment: str
) -> None:
    ok(client, "/v1/track", {"userId": "u-5", "event": "Signed Up"})  # the server knew them first
    ok(client, "/v1/batch", batch(*[{"type": "page", "anonymousId": "laptop"}] * 3))
    assert profile_of(client, admin, "laptop") != profile_of(client, admin, "u-5")
    ok(client, "/v1/identify", {"userId": "u-5", "anonymousId": "laptop"})
    person = profile_of(client, admin, "laptop")
    assert person is not None and person == profile_of(client, admin, "u-5")
    assert {e["profile"]["id"] for e in stored(client, admin)} == {person["id"]}
    assert len(stored(client, admin)) == 5


def test_alias_merges_the_previous_id_into_the_user_and_is_stored(
    client: TestClient, admin: Headers, segment: str
) -> None:
    ok(client, "/v1/batch", batch(*[{"type": "page", "anonymousId": "tablet"}] * 2))
    ok(client, "/v1/track", {"userId": "u-6", "event": "Paid"})
    ok(client, "/v1/alias", {"previousId": "tablet", "userId": "u-6"})
    person = profile_of(client, admin, "u-6")
    assert person is not None and person == profile_of(client, admin, "tablet")
    events = stored(client, admin)
    assert [e["type"] for e in events] == ["page-view", "page-view", "paid", "alias"]
    assert {e["profile"]["id"] for e in events} == {person["id"]}
    merges = all_events(client, admin, type="profile-merged")
    assert len(merges) == 1


def test_a_device_tied_to_another_customer_stays_with_them(
    client: TestClient, admin: Headers, segment: str
) -> None:
    ok(client, "/v1/identify", {"userId": "ann", "anonymousId": "family-pc"})
    for _ in range(2):
        ok(client, "/v1/track", {"userId": "bob", "anonymousId": "family-pc", "event": "Login"})
    ann, bob = profile_of(client, admin, "ann"), profile_of(client, admin, "bob")
    assert ann is not None and bob is not None and ann["id"] != bob["id"]
    assert profile_of(client, admin, "family-pc") == ann
    assert bob["data"]["identifier"]["id"] == "bob"
    assert all_events(client, admin, type="merge-refused") == []


def test_sessions_follow_the_context_session_id_or_30_minutes_of_inactivity(
    client: TestClient, admin: Headers, segment: str
) -> None:
    start = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)

    def page(minutes: int, **context: Any) -> Json:
        at = (start + timedelta(minutes=minutes)).isoformat()
        return {"type": "page", "anonymousId": "a", "timestamp": at, "context": context}

    ok(client, "/v1/batch", batch(page(0), page(10)))
    ok(client, "/v1/batch", batch(page(35)))  # 25 minutes after the last: the same visit
    ok(client, "/v1/batch", batch(page(66), page(70)))  # 31 minutes: a new one
    ok(
        client,
        "/v1/batch",
        batch(page(71, sessionId=1), page(72, sessionId=1), page(73, sessionId=2)),
    )
    sessions = [e["session"]["id"] for e in stored(client, admin)]
    assert sessions[0] == sessions[1] == sessions[2]
    assert sessions[3] == sessions[4] != sessions[0]
    assert sessions[5] == sessions[6] != sessions[3]
    assert sessions[7] not in sessions[:7]
    profile = profile_of(client, admin, "a")
    assert profile is not None and profile["stats"]["visits"] == 4
    assert len(all_events(client, admin, type="session-opened")) == 4


def test_a_batch_of_500_people_is_stored_concurrently_as_500_units(
    make_client: Callable[..., TestClient], admin: Headers
) -> None:
    client = make_client(background_work=False)  # its own commits would count
    new_source(client, admin, SOURCE, bridges=["segment"])
    storage = client.app.state.services.storage  # type: ignore[attr-defined]
    before = storage.writer_stats()
    messages = [{"type": "track", "userId": f"p{i}", "event": "Seen"} for i in range(500)]
    ok(client, "/v1/batch", batch(*messages))
    after = storage.writer_stats()
    assert len({e["profile"]["id"] for e in stored(client, admin)}) == 500
    assert after.units - before.units == 500
    # one after another, each unit would wait for its own commit: 500 commits
    assert after.commits - before.commits < 400


def test_concurrent_messages_of_one_new_person_make_one_profile(
    client: TestClient, admin: Headers, segment: str
) -> None:
    def identify(device: int) -> int:
        message = {"userId": "crowd", "anonymousId": f"device-{device}", "traits": {"n": device}}
        status: int = send(client, "/v1/identify", message).status_code
        return status

    with ThreadPoolExecutor(12) as pool:
        assert list(pool.map(identify, range(24))) == [200] * 24
    owners = {e["profile"]["id"] for e in stored(client, admin)}
    assert owners == {external_profile_id("crowd")}
    assert len(all_events(client, admin, type="profile-created")) == 1
    person = profile_of(client, admin, "device-23")
    assert person is not None and len(person["ids"]) == 25


def test_pixels_answer_a_gif_and_store_their_message(
    client: TestClient, admin: Headers, segment: str
) -> None:
    response = client.get(
        "/pixel/v1/track",
        params={
            "writeKey": SOURCE,
            "anonymousId": "mail-1",
            "event": "Email Opened",
            "properties.campaign": "spring",
            "context.page.url": "https://x.io/m",
        },
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/gif" and response.content[:6] == b"GIF89a"
    data = base64.b64encode(
        orjson.dumps({"writeKey": SOURCE, "anonymousId": "mail-1", "name": "Landing"})
    ).decode()
    assert client.get("/pixel/v1/page", params={"data": data}).status_code == 200
    events = stored(client, admin)
    assert [(e["type"], e["properties"]) for e in events] == [
        ("email-opened", {"campaign": "spring"}),
        ("page-view", {"name": "Landing"}),
    ]
    assert events[0]["hit"]["url"] == "https://x.io/m"
    refused = client.get("/pixel/v1/page", params={"writeKey": "nope", "anonymousId": "x"})
    assert refused.status_code == 401


def test_rate_limits_answer_429_with_retry_after(client: TestClient, admin: Headers) -> None:
    new_source(client, admin, SOURCE, bridges=["segment"], rate_limit={"rate": 0.01, "burst": 3})
    ok(client, "/v1/batch", batch(*[{"type": "page", "anonymousId": f"a{i}"} for i in range(3)]))
    refused = send(client, "/v1/page", {"anonymousId": "late"})
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["code"] == "rate_limited"
    assert len(stored(client, admin)) == 3


def test_browsers_get_cors_for_the_sources_origins(client: TestClient, admin: Headers) -> None:
    new_source(client, admin, SOURCE, bridges=["segment"], allowed_origins=["https://shop.io"])
    preflight = client.options(
        "/v1/t",
        headers={
            "Origin": "https://shop.io",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://shop.io"
    answer = send(client, "/v1/t", {"anonymousId": "a", "event": "e"}, Origin="https://shop.io")
    assert answer.headers["access-control-allow-origin"] == "https://shop.io"
    other = send(client, "/v1/t", {"anonymousId": "a", "event": "e"}, Origin="https://evil.io")
    assert "access-control-allow-origin" not in other.headers
    assert "x-process-time" in answer.headers


def test_wrong_methods_and_unknown_paths_are_not_500(client: TestClient, segment: str) -> None:
    assert client.get("/v1/batch").status_code == 405
    assert client.post("/v1/teleport", content=b"{}").status_code == 404
    assert client.post("/pixel/v1/track").status_code == 405


@pytest.mark.sqlite_only
def test_a_backed_up_writer_is_a_503_with_retry_after_and_nothing_stored(
    make_client: Callable[..., TestClient], admin: Headers
) -> None:
    client = make_client(writer_max_queue=1)
    new_source(client, admin, SOURCE, bridges=["segment", "rest"])
    with ThreadPoolExecutor(2) as pool, write_lock(client):
        held = pool.submit(client.post, "/track", json=payload("held", source=SOURCE))
        time.sleep(0.2)
        waiting = pool.submit(client.post, "/track", json=payload("waiting", source=SOURCE))
        wait_until(lambda: queued(client) == 1)
        refused = send(client, "/v1/batch", batch({"type": "page", "anonymousId": "a"}))
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["code"] == "overloaded"
    assert held.result(timeout=30).status_code == waiting.result(timeout=30).status_code == 200
    assert stored(client, admin) == [] or all(
        e["session"]["id"] in ("held", "waiting") for e in stored(client, admin)
    )
    assert get_json(client, admin, "/healthz")["status"] == "ok"
