"""Event sources over the admin API."""

from __future__ import annotations

from fastapi.testclient import TestClient

FULL = {
    "id": "Web-Shop ",
    "name": "Web shop",
    "bridges": ["rest", "webhook"],
    "enabled": True,
    "ephemeral": False,
    "static_profile_id": False,
    "channel": "web",
    "tags": ["eu"],
    "allowed_origins": ["https://shop.example.com"],
    "description": "The storefront",
    "rate_limit": {"rate": 10.5, "burst": 20},
    "async": False,
}


def test_create_read_update_delete(client: TestClient, admin: dict[str, str]) -> None:
    created = client.post("/api/sources", json=FULL, headers=admin)
    assert created.status_code == 201
    body = created.json()
    assert body == {**FULL, "id": "web-shop"}
    assert client.get("/api/sources/WEB-SHOP", headers=admin).json() == body
    # PUT accepts what GET answered (read-modify-write)
    body["enabled"] = False
    body["tags"] = ["eu", "paused"]
    updated = client.put("/api/sources/web-shop", json=body, headers=admin)
    assert updated.status_code == 200
    assert client.get("/api/sources/web-shop", headers=admin).json() == body
    assert client.delete("/api/sources/web-shop", headers=admin).status_code == 204
    assert client.get("/api/sources/web-shop", headers=admin).status_code == 404
    assert client.put("/api/sources/web-shop", json=body, headers=admin).status_code == 404


def test_defaults_and_generated_id(client: TestClient, admin: dict[str, str]) -> None:
    body = client.post("/api/sources", json={"name": "Anon"}, headers=admin).json()
    assert len(body["id"]) == 36
    assert body["bridges"] == ["rest"]
    assert body["allowed_origins"] == ["*"]
    assert body["enabled"] is True and body["ephemeral"] is False


def test_duplicate_id_is_409(client: TestClient, admin: dict[str, str]) -> None:
    assert client.post("/api/sources", json={"id": "a"}, headers=admin).status_code == 201
    response = client.post("/api/sources", json={"id": "A"}, headers=admin)
    assert response.status_code == 409
    assert "already exists" in response.json()["detail"]


def test_bad_bodies_are_422_naming_the_field(client: TestClient, admin: dict[str, str]) -> None:
    cases = [
        ({"id": "@internal"}, ["body", "id"]),
        ({"id": "   "}, ["body", "id"]),
        ({"id": "a/b"}, ["body", "id"]),
        ({"bridges": ["smtp"]}, ["body", "bridges", 0]),
        ({"enabled": "yes"}, ["body", "enabled"]),
        ({"tags": "eu"}, ["body", "tags"]),
    ]
    for payload, loc in cases:
        response = client.post("/api/sources", json=payload, headers=admin)
        assert response.status_code == 422, payload
        detail = response.json()["detail"]
        assert detail[0]["loc"] == loc, (payload, detail)
        assert {"loc", "msg", "type"} <= set(detail[0])
    malformed = client.post(
        "/api/sources", content=b"{", headers={**admin, "Content-Type": "application/json"}
    )
    assert malformed.status_code == 422
    assert client.get("/api/sources", headers=admin).json()["items"] == []


def test_cursor_paging_visits_every_source_once(client: TestClient, admin: dict[str, str]) -> None:
    for i in range(23):
        client.post("/api/sources", json={"id": f"s{i:02d}"}, headers=admin)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/sources", params=params, headers=admin).json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == [f"s{i:02d}" for i in range(23)]
    assert pages == 5
    assert client.get("/api/sources", params={"limit": 0}, headers=admin).status_code == 422
    assert client.get("/api/sources", params={"limit": 1001}, headers=admin).status_code == 422
    bad = client.get("/api/sources", params={"cursor": "!!"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "cursor"]
