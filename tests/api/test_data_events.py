"""GET /api/events filters (status, tag) and /api/events/stats, over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.api.helpers import Headers, all_events, get_json, new_source, payload, track


def test_tag_and_status_filters(client: TestClient, admin: Headers, web_source: str) -> None:
    track(client, payload("a", events=[{"type": "click", "tags": ["promo", "x"]}]))
    track(client, payload("b", events=[{"type": "click", "tags": ["x"]}, {"type": "view"}]))
    assert [e["session"]["id"] for e in all_events(client, admin, tag="promo")] == ["a"]
    assert len(all_events(client, admin, tag="x")) == 2
    assert len(all_events(client, admin, tag="x", type="click", source=web_source)) == 2
    collected = all_events(client, admin, status="collected", source=web_source)
    assert len(collected) == 3
    assert all_events(client, admin, status="error") == []


def test_stats_count_per_bucket_by_type_source_and_channel(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    new_source(client, admin, "app", channel="mobile")
    track(client, payload("s1", events=[{"type": "page-view"}] * 3))
    track(client, payload("s2", source="app", events=[{"type": "tap"}] * 2))
    now = datetime.now(UTC)
    start = (now - timedelta(hours=1)).isoformat()
    end = (now + timedelta(hours=1)).isoformat()
    query = {"interval": "hour", "from": start, "to": end}

    def stats(**extra: str) -> dict[str, object]:
        response = client.get("/api/events/stats", params={**query, **extra}, headers=admin)
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body

    total = stats()
    buckets = total["buckets"]
    assert isinstance(buckets, list) and len(buckets) in (2, 3)
    # 5 payload events + per session: session-opened, visit-started, profile-created
    assert sum(b["count"] for b in buckets) == 11
    assert all("groups" not in b for b in buckets)

    def merged(by: str) -> dict[str, int]:
        groups: dict[str, int] = {}
        for bucket in stats(by=by)["buckets"]:  # type: ignore[attr-defined]
            for key, count in bucket["groups"].items():
                groups[key] = groups.get(key, 0) + count
        return groups

    by_type = merged("type")
    assert by_type["page-view"] == 3 and by_type["tap"] == 2 and by_type["session-opened"] == 2
    assert merged("source") == {"web-shop": 3, "app": 2, "@internal": 6}
    assert merged("channel") == {"web": 6, "mobile": 5}


def test_stats_default_range_and_day_alignment(client: TestClient, admin: Headers) -> None:
    body = get_json(client, admin, "/api/events/stats")
    assert body["interval"] == "hour" and len(body["buckets"]) in (24, 25)
    day = get_json(
        client, admin, "/api/events/stats?interval=day&from=2026-01-01T12:00:00Z&to=2026-01-03"
    )
    assert [b["time"] for b in day["buckets"]] == [
        "2026-01-01T00:00:00.000000Z",
        "2026-01-02T00:00:00.000000Z",
    ]


def test_bad_stats_parameters_are_422_naming_the_field(client: TestClient, admin: Headers) -> None:
    cases = {
        "interval=week": "interval",
        "by=colour": "by",
        "from=2026-01-02&to=2026-01-01": "to",
        "from=nope": "from",
        "interval=minute&from=2020-01-01&to=2026-01-01": "interval",
    }
    for query, field in cases.items():
        response = client.get(f"/api/events/stats?{query}", headers=admin)
        assert response.status_code == 422, (query, response.text)
        assert field in [item["loc"][-1] for item in response.json()["detail"]], query


def test_event_list_time_range_must_be_ordered(client: TestClient, admin: Headers) -> None:
    response = client.get("/api/events?from=2026-01-02&to=2026-01-02", headers=admin)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "to"]
