"""`POST /api/conditions/check` over HTTP, on both engines."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from kith.conditions import MAX_CONDITION_LENGTH
from tests.api.helpers import assert_validation_error

Headers = dict[str, str]
CHECK = "/api/conditions/check"


def test_a_true_and_a_false_condition(client: TestClient, admin: Headers) -> None:
    documents = {
        "profile": {"stats": {"visits": 5}, "segments": ["vip"]},
        "event": {"type": "purchase", "properties": {"total": 120}},
        "session": {"utm": {"source": "newsletter"}},
    }
    condition = (
        'profile@stats.visits > 3 AND profile@segments == "vip" AND event@properties.total '
        'BETWEEN 100 AND 200 AND session@utm.source IN ["newsletter", "ads"]'
    )
    response = client.post(CHECK, json={"condition": condition, **documents}, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json() == {"valid": True, "result": True, "error": None}
    response = client.post(
        CHECK, json={"condition": "profile@stats.visits > 10", **documents}, headers=admin
    )
    assert response.json() == {"valid": True, "result": False, "error": None}


def test_documents_left_out_read_as_missing(client: TestClient, admin: Headers) -> None:
    for condition, result in [
        ("profile@a EXISTS", False),
        ("profile@a != 1", True),
        ("event@a IS NULL", False),
        ("session@a EMPTY", True),
    ]:
        response = client.post(CHECK, json={"condition": condition}, headers=admin)
        assert response.json() == {"valid": True, "result": result, "error": None}, condition
    response = client.post(
        CHECK, json={"condition": "profile@a EXISTS", "profile": None}, headers=admin
    )
    assert response.json()["result"] is False


def test_a_syntax_error_is_a_200_naming_line_and_column(client: TestClient, admin: Headers) -> None:
    response = client.post(
        CHECK, json={"condition": 'profile@a == 1 AND\n  event@type === "x"'}, headers=admin
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["valid"] is False and body["result"] is None
    assert body["error"].startswith("line 2, column 16: unexpected '='")
    response = client.post(CHECK, json={"condition": "(" * 10_000}, headers=admin)
    assert response.status_code == 200
    assert "nested more than" in response.json()["error"]
    response = client.post(
        CHECK, json={"condition": "profile@a > now.offset('soon')"}, headers=admin
    )
    assert "is not an offset" in response.json()["error"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"condition": 42},
        {"condition": "profile@a == 1", "profile": "not an object"},
        {"condition": "profile@a == 1", "payload": {}},
        {"condition": "x" * (MAX_CONDITION_LENGTH + 1)},
        {"condition": "profile@a == 1 AND " * 60_000},
    ],
)
def test_bad_bodies_are_422(client: TestClient, admin: Headers, body: dict[str, object]) -> None:
    assert_validation_error(client.post(CHECK, json=body, headers=admin))


def test_not_json_is_422(client: TestClient, admin: Headers) -> None:
    response = client.post(
        CHECK, content=b"{not json", headers={**admin, "Content-Type": "application/json"}
    )
    assert response.status_code == 422


def test_every_role_may_check(client: TestClient, key_for: Callable[[str], Headers]) -> None:
    for role in ("admin", "developer", "marketer", "viewer"):
        response = client.post(
            CHECK, json={"condition": "profile@a == 1", "profile": {"a": 1}}, headers=key_for(role)
        )
        assert response.json() == {"valid": True, "result": True, "error": None}, role
    assert client.post(CHECK, json={"condition": "profile@a == 1"}).status_code == 401
