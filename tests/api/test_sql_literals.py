"""SQL-looking input is data: stored and found literally through every entry point.

Each value below goes in as ids, event types, property names and values, source
ids and filters; each ENTRY_POINTS row then reads it back through one route and
checks it comes back exactly, that a control record made of plain values is not
matched by quotes or LIKE wildcards, and at the end that every table is intact.
A new admin route gets a row here (a function of the client and the seeded
`Seeded` record); nothing else needs to change."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from kith.domain.payload import normalise_event_type
from tests.api.helpers import Json, new_source
from tests.store_rows import rows

NASTY = [
    "' OR '1'='1",
    "x'; DROP TABLE events; --",
    '"; DELETE FROM profiles WHERE "1"="1',
    "%' OR 1=1 --",
    "%",
    "_",
    "\\' ) UNION SELECT secret_hash FROM api_keys --",
    "Robert'); DROP TABLE sessions;--",
    "a%b_c\\d[e]*f?g",
    "';PRAGMA writable_schema=1;--",
]


@dataclass(frozen=True)
class Seeded:
    value: str
    """the raw value (ids and property names/values)"""
    source: str
    """the value as a source id (lower-cased, no whitespace or '/')"""
    event_type: str
    """the value as an event type (normalised as the collector does)"""
    session: str
    profile: str
    event: str


def path(value: str) -> str:
    return quote(value, safe="")


def get(client: TestClient, admin: Json, url: str, **params: Any) -> Any:
    response = client.get(url, params=params, headers=admin)
    assert response.status_code == 200, (url, params, response.text)
    return response.json()


def strings(document: Any) -> set[str]:
    """Every string in a JSON document, keys included."""
    if isinstance(document, dict):
        return set(document) | {text for v in document.values() for text in strings(v)}
    if isinstance(document, list):
        return {text for v in document for text in strings(v)}
    return {document} if isinstance(document, str) else set()


def ids(items: list[Json]) -> set[str]:
    return {item["id"] for item in items}


def seed(client: TestClient, admin: Json, value: str) -> Seeded:
    source = "".join(value.split()).replace("/", "").lower() or "empty"
    new_source(client, admin, source, static_profile_id=True)
    new_source(client, admin, "control-src", static_profile_id=True)
    seeded = Seeded(
        value=value,
        source=source,
        event_type=normalise_event_type(value),
        session=f"{value}-session",
        profile=f"{value}-profile",
        event=f"{value}-event",
    )
    bodies = [
        {
            "source": {"id": source},
            "session": {"id": seeded.session},
            "profile": {"id": seeded.profile},
            "events": [
                {
                    "type": value,
                    "id": seeded.event,
                    "properties": {value: value, "firstname": value},
                    "tags": [value],
                },
            ],
        },
        {
            "source": {"id": "control-src"},
            "session": {"id": "control-session"},
            "profile": {"id": "control-profile"},
            "events": [{"type": "control", "id": "control-event", "tags": ["control"]}],
        },
    ]
    for body in bodies:
        response = client.post("/track", json=body)
        assert response.status_code == 200, response.text
    response = client.get(f"/collect/{path(value)}/{path(source)}/{path(seeded.session)}")
    assert response.status_code == 200, response.text
    return seeded


def check_collector_lookups(client: TestClient, admin: Json, s: Seeded) -> None:
    event = get(client, admin, f"/api/events/{path(s.event)}")
    assert event["type"] == s.event_type
    assert event["properties"][s.value] == s.value
    assert event["tags"] == [s.value]
    assert get(client, admin, f"/api/sessions/{path(s.session)}")["id"] == s.session
    assert get(client, admin, f"/api/profiles/{path(s.profile)}")["id"] == s.profile


def check_event_filters(client: TestClient, admin: Json, s: Seeded) -> None:
    def found(**params: str) -> set[str]:
        return ids(get(client, admin, "/api/events", limit=1000, **params)["items"])

    assert s.event in found(type=s.value)
    assert found(type=s.value) == found(type=s.event_type)
    assert "control-event" not in found(type=s.value)
    assert s.event in found(session=s.session) and "control-event" not in found(session=s.session)
    assert s.event in found(profile=s.profile) and "control-event" not in found(profile=s.profile)
    assert s.event in found(source=s.source) and "control-event" not in found(source=s.source)
    assert found(tag=s.value) == {s.event}


def check_profile_routes(client: TestClient, admin: Json, s: Seeded) -> None:
    base = f"/api/profiles/{path(s.profile)}"
    timeline = get(client, admin, f"{base}/events", limit=1000)["items"]
    assert s.event in ids(timeline) and "control-event" not in ids(timeline)
    typed = get(client, admin, f"{base}/events", type=s.value)["items"]
    assert s.event in ids(typed) and {e["type"] for e in typed} == {s.event_type}
    sessions = get(client, admin, f"{base}/sessions")["items"]
    assert s.session in ids(sessions) and "control-session" not in ids(sessions)
    exported = get(client, admin, f"{base}/export")
    assert s.value in strings(exported) and "control-event" not in strings(exported)
    listed = get(client, admin, "/api/sessions", profile=s.profile)["items"]
    assert ids(listed) >= {s.session} and "control-session" not in ids(listed)


def check_profile_search(client: TestClient, admin: Json, s: Seeded) -> None:
    exact = ids(get(client, admin, "/api/profiles", q=s.profile)["items"])
    assert exact == {s.profile}
    # a substring, with every quote and wildcard in it, matches literally
    part = s.profile[: max(1, len(s.value))]
    found = ids(get(client, admin, "/api/profiles", q=part, limit=1000)["items"])
    assert s.profile in found and "control-profile" not in found


def check_sources(client: TestClient, admin: Json, s: Seeded) -> None:
    source = get(client, admin, f"/api/sources/{path(s.source)}")
    assert source["id"] == s.source
    source["description"] = s.value
    source["tags"] = [s.value]
    response = client.put(f"/api/sources/{path(s.source)}", json=source, headers=admin)
    assert response.status_code == 200 and response.json()["description"] == s.value
    listed = {item["id"] for item in get(client, admin, "/api/sources", limit=1000)["items"]}
    assert listed >= {s.source, "control-src"}


def check_event_types(client: TestClient, admin: Json, s: Seeded) -> None:
    url = f"/api/event-types/{path(s.value)}"
    response = client.put(url, json={"description": s.value, "tags": [s.value]}, headers=admin)
    assert response.status_code == 200, response.text
    stored = get(client, admin, url)
    assert stored["description"] == s.value and stored["tags"] == [s.value]


def check_consent_types(client: TestClient, admin: Json, s: Seeded) -> None:
    url = f"/api/consent-types/{path(s.source)}"
    response = client.put(url, json={"name": s.value, "description": s.value}, headers=admin)
    assert response.status_code == 200, response.text
    assert get(client, admin, url)["name"] == s.value


def check_erase_touches_only_that_person(client: TestClient, admin: Json, s: Seeded) -> None:
    response = client.delete(f"/api/profiles/{path(s.profile)}", headers=admin)
    assert response.status_code == 200, response.text
    assert client.get(f"/api/events/{path(s.event)}", headers=admin).status_code == 404
    assert get(client, admin, "/api/profiles/control-profile")["id"] == "control-profile"
    assert get(client, admin, "/api/events/control-event")["type"] == "control"
    response = client.delete(f"/api/sources/{path(s.source)}", headers=admin)
    assert response.status_code == 204
    assert get(client, admin, "/api/sources/control-src")["id"] == "control-src"


# (what it covers, check); order matters only for the last row, which deletes
ENTRY_POINTS: list[tuple[str, Callable[[TestClient, Json, Seeded], None]]] = [
    ("collector ids, types, properties; lookups by id", check_collector_lookups),
    ("/api/events filters", check_event_filters),
    ("profile timeline, sessions, export; /api/sessions", check_profile_routes),
    ("/api/profiles?q=", check_profile_search),
    ("sources CRUD", check_sources),
    ("event types", check_event_types),
    ("consent types", check_consent_types),
    ("erase and delete", check_erase_touches_only_that_person),
]


@pytest.mark.parametrize("value", NASTY)
def test_sql_fragments_are_stored_and_found_literally(
    value: str, client: TestClient, admin: dict[str, str]
) -> None:
    seeded = seed(client, admin, value)
    for name, check in ENTRY_POINTS:
        try:
            check(client, admin, seeded)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from exc
    settings = client.app.state.services.settings  # type: ignore[attr-defined]
    if settings.storage_kind == "sqlite":
        assert rows(settings, "PRAGMA integrity_check") == [("ok",)]
        tables = {row[0] for row in rows(settings, "SELECT name FROM sqlite_master")}
    else:
        tables = {
            row[0]
            for row in rows(
                settings, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
        }
    assert {"events", "profiles", "sessions", "sources", "api_keys"} <= tables
    assert rows(settings, "SELECT count(*) FROM api_keys")[0][0] >= 1
