"""API keys: created once, stored hashed, revocable, admin-only."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from kith.config import Settings
from kith.domain.apikey import key_parts
from tests.store_rows import rows


def test_create_answers_the_key_once_and_it_works(
    client: TestClient, admin: dict[str, str], settings: Settings
) -> None:
    created = client.post("/api/keys", json={"role": "viewer", "name": "ci"}, headers=admin)
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"id", "key", "role", "name"}
    assert body["role"] == "viewer" and body["name"] == "ci"
    listed = client.get("/api/keys", headers=admin).json()
    assert listed["next"] is None
    row = next(item for item in listed["items"] if item["id"] == body["id"])
    assert "key" not in row and row["role"] == "viewer"
    assert (
        client.get("/api/sources", headers={"Authorization": f"Bearer {body['key']}"}).status_code
        == 200
    )
    # only the hash is stored
    stored = [r[0] for r in rows(settings, "SELECT secret_hash FROM api_keys")]
    # the secret may itself contain "_": take it as the server does, not by splitting
    secret = key_parts(body["key"])[1]
    assert all(body["key"] not in value and secret not in value for value in stored)


def test_revoked_key_stops_working(client: TestClient, admin: dict[str, str]) -> None:
    body = client.post("/api/keys", json={"role": "developer"}, headers=admin).json()
    headers = {"Authorization": f"Bearer {body['key']}"}
    assert client.get("/api/sources", headers=headers).status_code == 200
    assert client.delete(f"/api/keys/{body['id']}", headers=admin).status_code == 204
    assert client.get("/api/sources", headers=headers).status_code == 401
    assert client.delete(f"/api/keys/{body['id']}", headers=admin).status_code == 404


def test_bad_role_is_422_naming_the_field(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post("/api/keys", json={"role": "root"}, headers=admin)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "role"]


def test_missing_wrong_and_tampered_keys_are_401(
    client: TestClient, key_for: Callable[[str], dict[str, str]]
) -> None:
    good = key_for("admin")["Authorization"]
    for headers in (
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": good[:-1] + ("x" if good[-1] != "x" else "y")},
        {"Authorization": good.replace("Bearer", "Basic")},
    ):
        response = client.get("/api/sources", headers=headers)
        assert response.status_code == 401, headers
        assert "detail" in response.json()


def test_bootstrap_key_is_not_added_twice(
    make_client: Callable[..., TestClient], admin: dict[str, str]
) -> None:
    first = make_client()
    assert len(first.get("/api/keys", headers=admin).json()["items"]) == 1
    first.__exit__(None, None, None)
    second = make_client()
    assert len(second.get("/api/keys", headers=admin).json()["items"]) == 1
