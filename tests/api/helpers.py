"""Helpers shared by the black-box collector tests in tests/api.

Everything here talks to the app only over HTTP (the collector and the admin
API), as the tests themselves do.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient

Json = dict[str, Any]
Headers = dict[str, str]


def payload(
    session: str | None = None,
    *,
    profile: str | None = None,
    source: str = "web-shop",
    events: list[Json] | None = None,
    n_events: int = 1,
    options: Json | None = None,
    **extra: Any,
) -> Json:
    """A /track payload from `source`.

    `events` defaults to `n_events` page views; `session`, `profile` and
    `options` are left out when None; `extra` keys are set on the payload as given.
    """
    body: Json = {"source": {"id": source}, "events": events or [{"type": "page-view"}] * n_events}
    if session is not None:
        body["session"] = {"id": session}
    if profile is not None:
        body["profile"] = {"id": profile}
    if options is not None:
        body["options"] = options
    return {**body, **extra}


def track(client: TestClient, body: Json, **params: str) -> Json:
    """POST /track with the query `params`, assert 200 and return the answer."""
    response = client.post("/track", json=body, params=params)
    assert response.status_code == 200, response.text
    answer: Json = response.json()
    return answer


def all_events(client: TestClient, admin: Headers, **filters: str) -> list[Json]:
    """Every stored event matching the filters, following the /api/events cursor."""
    items: list[Json] = []
    cursor: str | None = None
    while True:
        params = {**filters, "limit": "1000", **({"cursor": cursor} if cursor else {})}
        response = client.get("/api/events", params=params, headers=admin)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        cursor = page["next"]
        if not cursor:
            return items


def get_json(client: TestClient, admin: Headers, path: str) -> Json:
    """GET `path` as admin, assert 200 and return the body."""
    response = client.get(path, headers=admin)
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


def get_or_none(client: TestClient, admin: Headers, path: str) -> Json | None:
    """GET `path` as admin: None on 404, else assert 200 and return the body."""
    response = client.get(path, headers=admin)
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


def get_profile(client: TestClient, admin: Headers, profile_id: str) -> Json | None:
    """The profile (also found by any id in its `ids`), or None if there is none."""
    return get_or_none(client, admin, f"/api/profiles/{profile_id}")


def get_session(client: TestClient, admin: Headers, session_id: str) -> Json | None:
    """The session, or None if there is none."""
    return get_or_none(client, admin, f"/api/sessions/{session_id}")


def new_source(client: TestClient, admin: Headers, source_id: str, **fields: Any) -> str:
    """Create a source with the rest and webhook bridges (unless `fields` say otherwise)."""
    body = {"id": source_id, "bridges": ["rest", "webhook"], **fields}
    response = client.post("/api/sources", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return source_id


def parse_time(value: str, *, require_utc: bool = False) -> datetime:
    """An ISO 8601 time (a trailing Z allowed); with `require_utc`, assert it is UTC."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if require_utc:
        offset = parsed.utcoffset()
        assert offset is not None and offset.total_seconds() == 0
    return parsed


def assert_validation_error(
    response: Any, loc: list[str | int] | None = None, *, check_text: bool = True
) -> list[Json]:
    """A 422 whose detail is a non-empty list of {loc, msg, type} with body locs.

    With `check_text`, each `msg` and `type` must also be a non-empty string.
    If `loc` is given it must be among the details' locs. Returns the detail.
    """
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, list) and detail
    for item in detail:
        assert {"loc", "msg", "type"} <= set(item)
        assert isinstance(item["loc"], list) and item["loc"][0] == "body"
        if check_text:
            assert isinstance(item["msg"], str) and item["msg"]
            assert isinstance(item["type"], str) and item["type"]
    if loc is not None:
        assert loc in [item["loc"] for item in detail], detail
    return detail
