"""GET /api/profiles search and the profile timeline routes, over HTTP."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.helpers import Headers, get_json, payload, track


def identify(client: TestClient, session: str, **properties: str) -> str:
    body = payload(session, events=[{"type": "identify", "properties": properties}])
    return str(track(client, body)["profile"]["id"])


def found(client: TestClient, admin: Headers, **params: str) -> list[str]:
    response = client.get("/api/profiles", params=params, headers=admin)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_search_by_email_name_phone_id_and_trait(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    ann = identify(client, "s-ann", email="Ann.Lee@Example.org", firstname="Ann", lastname="Lee")
    bob = identify(client, "s-bob", phone="+44 20 7946 0000", firstname="Bob")
    assert found(client, admin, q="ann.lee@example.org") == [ann]
    assert found(client, admin, q="EXAMPLE.ORG") == [ann]
    assert found(client, admin, q="lee") == [ann]
    assert found(client, admin, q="bob") == [bob]
    assert found(client, admin, q="20 7946") == [bob]  # a space: no id can contain it
    assert found(client, admin, q=ann) == [ann]
    assert found(client, admin, q="   ") == [bob, ann]  # blank: no text filter
    assert found(client, admin, q="zzz-nothing") == []


def test_list_newest_first_with_cursor_and_time_filters(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    made = [track(client, payload(f"s{n}"))["profile"]["id"] for n in range(7)]
    pages: list[str] = []
    cursor = None
    while True:
        body = get_json(
            client, admin, "/api/profiles?limit=3" + (f"&cursor={cursor}" if cursor else "")
        )
        pages.extend(item["id"] for item in body["items"])
        cursor = body["next"]
        if not cursor:
            break
    assert pages == list(reversed(made))
    middle = get_json(client, admin, f"/api/profiles/{made[3]}")
    updated = middle["metadata"]["time"]["update"]
    assert found(client, admin, updated_from=updated) == list(reversed(made[3:]))
    assert found(client, admin, updated_to=updated) == list(reversed(made[:3]))
    visited = middle["metadata"]["time"]["visit"]["current"]
    assert found(client, admin, visited_from=visited) == list(reversed(made[3:]))
    assert found(client, admin, visited_to=visited) == list(reversed(made[:3]))
    assert found(client, admin, segment="nobody-is-in-it") == []


def test_bad_parameters_are_422_naming_the_field(client: TestClient, admin: Headers) -> None:
    cases = {
        "updated_from=yesterday": "updated_from",
        "visited_from=2026-02-01&visited_to=2026-01-01": "visited_to",
        "limit=0": "limit",
        "limit=1001": "limit",
        "cursor=%%%": "cursor",
    }
    for query, field in cases.items():
        response = client.get(f"/api/profiles?{query}", headers=admin)
        assert response.status_code == 422, (query, response.text)
        assert field in [item["loc"][-1] for item in response.json()["detail"]], query


def test_timeline_events_and_sessions_newest_first(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    first = track(client, payload("t-1", events=[{"type": "a"}, {"type": "b"}]))
    pid = first["profile"]["id"]
    track(client, payload("t-2", profile=pid, events=[{"type": "c"}]))
    events = get_json(client, admin, f"/api/profiles/{pid}/events?limit=1000")["items"]
    own = [e["type"] for e in events if e["source"]["id"] == web_source]
    assert own == ["c", "b", "a"]
    times = [e["metadata"]["time"]["insert"] for e in events]
    assert times == sorted(times, reverse=True)
    only = get_json(client, admin, f"/api/profiles/{pid}/events?type=B")["items"]
    assert [e["type"] for e in only] == ["b"]
    sessions = get_json(client, admin, f"/api/profiles/{pid}/sessions")["items"]
    assert [s["id"] for s in sessions] == ["t-2", "t-1"]
    page = get_json(client, admin, f"/api/profiles/{pid}/sessions?limit=1")
    assert [s["id"] for s in page["items"]] == ["t-2"] and page["next"]


def test_timeline_of_a_missing_profile_is_404(client: TestClient, admin: Headers) -> None:
    for path in ("events", "sessions", "export"):
        response = client.get(f"/api/profiles/nobody/{path}", headers=admin)
        assert response.status_code == 404, path
    assert client.delete("/api/profiles/nobody", headers=admin).status_code == 404


def test_sessions_list_filters(client: TestClient, admin: Headers, web_source: str) -> None:
    a = track(client, payload("x-1"))["profile"]["id"]
    track(client, payload("x-2"))
    track(client, payload("x-3", profile=a))
    mine = get_json(client, admin, f"/api/sessions?profile={a}")["items"]
    assert [s["id"] for s in mine] == ["x-3", "x-1"]
    everything = get_json(client, admin, "/api/sessions")["items"]
    assert [s["id"] for s in everything] == ["x-3", "x-2", "x-1"]
    start = everything[1]["metadata"]["time"]["create"]
    window = get_json(client, admin, f"/api/sessions?from={start}")["items"]
    assert [s["id"] for s in window] == ["x-3", "x-2"]
    assert get_json(client, admin, "/api/sessions?to=2000-01-01")["items"] == []
    bad = client.get("/api/sessions?from=soon", headers=admin)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "from"
