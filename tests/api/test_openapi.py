"""The OpenAPI document is one a client can be generated from.

Schemathesis (test_schemathesis.py) checks that the API behaves as the document
says; these tests check the document itself: valid OpenAPI, readable unique
operation ids, a schema for every answer, every error status each kind of route
can give, and the collector routes described next to the admin API."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from kith.app import build_app
from kith.config import Settings

Json = dict[str, Any]
METHODS = ("get", "put", "post", "delete", "patch")
WRITES = ("put", "post", "delete", "patch")


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> Json:
    """The document as a client fetches it, from an app that is started."""
    data = tmp_path_factory.mktemp("openapi")
    with TestClient(build_app(Settings(data_dir=Path(data)))) as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200
    served: Json = response.json()
    return served


def operations(document: Json) -> Iterator[tuple[str, str, Json]]:
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def test_the_document_is_valid_openapi(document: Json) -> None:
    validate(document)
    assert document["openapi"].startswith("3.1")


def test_every_operation_has_a_unique_readable_id(document: Json) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(ids) == len(set(ids)), sorted(ids)
    for operation_id in ids:
        # what a generated client names the method: `list_sources`, not FastAPI's
        # `list_sources_api_sources_get`
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", operation_id), operation_id
        assert not operation_id.endswith(tuple(f"_{method}" for method in METHODS)), operation_id
        assert "_api_" not in operation_id, operation_id
    assert {"list_sources", "create_source", "track", "track_batch", "health"} <= set(ids)


def test_every_answer_has_a_json_schema(document: Json) -> None:
    for path, method, operation in operations(document):
        for status, answer in operation["responses"].items():
            where = f"{method.upper()} {path} {status}"
            assert answer.get("description"), where
            if status == "204":
                assert "content" not in answer, where
                continue
            assert list(answer["content"]) == ["application/json"], where
            assert answer["content"]["application/json"].get("schema"), where


def _error_schema(answer: Json) -> str:
    return str(answer["content"]["application/json"]["schema"].get("$ref", ""))


def test_admin_routes_declare_every_error_they_can_answer(document: Json) -> None:
    """The statuses a route's kind implies; the rest (404, 409) schemathesis checks."""
    admin = [(p, m, o) for p, m, o in operations(document) if p.startswith("/api/")]
    assert len(admin) >= 30
    for path, method, operation in admin:
        where = f"{method.upper()} {path}"
        declared = set(operation["responses"])
        expected = {"401", "403"}  # every /api route checks a key and its role
        if "requestBody" in operation:
            expected |= {"413", "422"}  # the admin body limit; the body's schema
        if operation.get("parameters"):
            expected.add("422")
        if method in WRITES:
            expected.add("503")  # the writer's queue is full
        assert expected <= declared, (where, sorted(expected - declared))
        assert operation["security"] == [{"HTTPBearer": []}], where


def test_error_answers_have_kiths_bodies(document: Json) -> None:
    for path, method, operation in operations(document):
        for status, answer in operation["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            where = f"{method.upper()} {path} {status}"
            body = "ValidationErrorBody" if status == "422" else "ErrorBody"
            assert _error_schema(answer) == f"#/components/schemas/{body}", where
            if status in ("429", "503"):
                assert answer["headers"]["Retry-After"]["required"] is True, where
    schemas = document["components"]["schemas"]
    issue = schemas["ValidationIssue"]
    assert set(issue["properties"]) == set(issue["required"]) == {"loc", "msg", "type"}
    assert "HTTPValidationError" not in schemas  # FastAPI's 422, which Kith does not send


def test_the_422_body_is_the_documented_one(client: TestClient, admin: dict[str, str]) -> None:
    """FastAPI's own validation errors come in Kith's shape, nothing more (no `input`
    echoing the rejected value back)."""
    response = client.get("/api/sources?limit=0", headers=admin)
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem == {
        "loc": ["query", "limit"],
        "msg": "Input should be greater than or equal to 1",
        "type": "greater_than_equal",
    }
    undecodable = client.post(
        "/api/sources",
        content=b'{"id": "\xff"}',
        headers={**admin, "Content-Type": "application/json"},
    )
    assert undecodable.status_code == 422
    assert undecodable.json()["detail"][0]["type"] == "json_invalid"


def _keys(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _keys(value)
    elif isinstance(node, list):
        for value in node:
            yield from _keys(value)


def test_constraints_are_json_schema_keywords(document: Json) -> None:
    """Pydantic writes a constraint it cannot place (`ge`) instead of `minimum`; no
    JSON Schema tool reads those, so the document would promise no limit at all."""
    leaked = {"ge", "gt", "le", "lt", "max_length", "min_length", "multiple_of"}
    assert leaked.isdisjoint(_keys(document["components"])), leaked & set(_keys(document))
    for _, _, operation in operations(document):
        assert leaked.isdisjoint(_keys(operation.get("parameters", []))), operation["operationId"]


def test_the_collector_is_described(document: Json) -> None:
    paths = document["paths"]
    track = paths["/track"]["post"]
    assert track["security"] == []
    payload = track["requestBody"]["content"]["application/json"]["schema"]
    assert payload == {"$ref": "#/components/schemas/TrackerPayload"}
    schemas = document["components"]["schemas"]
    assert schemas["TrackerPayload"]["required"] == ["source"]
    assert schemas["TrackerPayload"]["properties"]["events"]["maxItems"] == 1000
    assert set(track["responses"]) == {"200", "401", "413", "422", "429", "503"}
    batch = paths["/track"]["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert batch["maxItems"] == 500
    for path in (
        "/collect/{event_type}/{source_id}/{session_id}",
        "/collect/{event_type}/{source_id}",
    ):
        assert set(paths[path]) == {"get", "post"}
    health = paths["/healthz"]["get"]["responses"]["200"]["content"]["application/json"]
    assert health["schema"] == {"$ref": "#/components/schemas/Health"}


def test_the_collector_limits_are_the_running_ones(tmp_path: Path) -> None:
    app = build_app(Settings(data_dir=tmp_path, max_events=20, max_batch_payloads=7))
    document = app.openapi()
    payload = document["components"]["schemas"]["TrackerPayload"]
    assert payload["properties"]["events"]["maxItems"] == 20
    batch = document["paths"]["/track"]["put"]["requestBody"]["content"]["application/json"]
    assert batch["schema"]["maxItems"] == 7


def test_a_wrong_method_is_405_naming_every_method_of_the_path(client: TestClient) -> None:
    """Kith has one handler per method, and Starlette's `Allow` named only the first."""
    for method, path, allowed in (
        ("PATCH", "/api/sources/web-shop", "DELETE, GET, PUT"),
        ("DELETE", "/api/keys", "GET, POST"),
        ("GET", "/track", "OPTIONS, POST, PUT"),
        ("PUT", "/collect/page-view/web-shop", "GET, HEAD, OPTIONS, POST"),
    ):
        response = client.request(method, path)
        assert response.status_code == 405, (method, path)
        assert response.headers["allow"] == allowed, (method, path)
        assert response.json() == {"detail": "Method Not Allowed"}
    preflight = client.options("/collect/page-view/web-shop")
    assert preflight.headers["allow"] == "GET, POST, OPTIONS"
    assert client.options("/track").headers["allow"] == "POST, PUT, OPTIONS"


def test_json_no_store_can_hold_is_a_422_not_a_500(
    client: TestClient, admin: dict[str, str]
) -> None:
    """An event type's free-form `schema` and mapping constants are checked like the
    collector's JSON: integers past 64 bits and absurd nesting are refused."""
    for body, loc in (
        ({"schema": {"maximum": 2**64}}, ["body", "schema"]),
        (
            {"mapping": [{"to": "profile@traits.a", "from": -(2**63) - 1}]},
            ["body", "mapping", 0, "from"],
        ),
    ):
        response = client.put("/api/event-types/big", json=body, headers=admin)
        assert response.status_code == 422, response.text
        (problem,) = response.json()["detail"]
        assert problem["loc"] == loc and problem["type"] == "int_range"
