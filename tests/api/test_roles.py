"""Every role against every admin route, checked against the one permission table."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from kith.domain.access import ROLE_PERMISSIONS, Permission, Role

# (method, path, body, permission it needs)
ROUTES: list[tuple[str, str, dict[str, object] | None, Permission]] = [
    ("GET", "/api/keys", None, Permission.keys_manage),
    ("POST", "/api/keys", {"role": "viewer"}, Permission.keys_manage),
    ("DELETE", "/api/keys/missing", None, Permission.keys_manage),
    ("GET", "/api/sources", None, Permission.config_read),
    ("GET", "/api/sources/web-shop", None, Permission.config_read),
    ("POST", "/api/sources", {"name": "x"}, Permission.config_write),
    ("PUT", "/api/sources/web-shop", {"name": "renamed"}, Permission.config_write),
    ("DELETE", "/api/sources/missing", None, Permission.config_write),
    ("GET", "/api/profiles/missing", None, Permission.data_read),
    ("GET", "/api/sessions/missing", None, Permission.data_read),
    ("GET", "/api/events/missing", None, Permission.data_read),
    ("GET", "/api/events", None, Permission.data_read),
    ("GET", "/api/events/stats", None, Permission.data_read),
    ("GET", "/api/profiles", None, Permission.data_read),
    ("GET", "/api/profiles/missing/events", None, Permission.data_read),
    ("GET", "/api/profiles/missing/sessions", None, Permission.data_read),
    ("GET", "/api/profiles/missing/export", None, Permission.data_read),
    ("DELETE", "/api/profiles/missing", None, Permission.data_erase),
    ("GET", "/api/profiles/missing/identities", None, Permission.data_read),
    ("POST", "/api/profiles/missing/merge", {"ids": ["other"]}, Permission.config_write),
    ("GET", "/api/sessions", None, Permission.data_read),
    ("GET", "/api/event-types", None, Permission.config_read),
    ("GET", "/api/event-types/missing", None, Permission.config_read),
    ("PUT", "/api/event-types/missing", {"tags": ["x"]}, Permission.config_write),
    ("DELETE", "/api/event-types/missing", None, Permission.config_write),
    ("GET", "/api/settings/identity", None, Permission.config_read),
    ("PUT", "/api/settings/identity", {"merge_keys": []}, Permission.config_write),
    ("GET", "/api/consent-types", None, Permission.config_read),
    ("GET", "/api/consent-types/missing", None, Permission.config_read),
    ("PUT", "/api/consent-types/missing", {"name": "x"}, Permission.config_write),
    ("DELETE", "/api/consent-types/missing", None, Permission.config_write),
    ("POST", "/api/conditions/check", {"condition": "profile@a == 1"}, Permission.config_read),
    ("GET", "/api/rules", None, Permission.config_read),
    ("GET", "/api/rules/missing", None, Permission.config_read),
    ("PUT", "/api/rules/missing", {"flow": "missing"}, Permission.config_write),
    ("DELETE", "/api/rules/missing", None, Permission.config_write),
    ("GET", "/api/flows", None, Permission.config_read),
    ("GET", "/api/flows/missing", None, Permission.config_read),
    ("PUT", "/api/flows/missing", {"nodes": []}, Permission.config_write),
    ("DELETE", "/api/flows/missing", None, Permission.config_write),
    ("POST", "/api/flows/missing/deploy", None, Permission.config_write),
    ("GET", "/api/flows/missing/versions", None, Permission.config_read),
    ("GET", "/api/flows/missing/runs", None, Permission.config_read),
    ("POST", "/api/flows/missing/debug", {"event_id": "x"}, Permission.config_write),
    ("GET", "/api/nodes", None, Permission.config_read),
    ("GET", "/api/segments", None, Permission.config_read),
    ("GET", "/api/segments/missing", None, Permission.config_read),
    ("PUT", "/api/segments/missing", {"condition": None}, Permission.segments_write),
    ("DELETE", "/api/segments/missing", None, Permission.segments_write),
    ("POST", "/api/segments/missing/refresh", None, Permission.segments_write),
    ("GET", "/api/computed-traits", None, Permission.config_read),
    ("GET", "/api/computed-traits/missing", None, Permission.config_read),
    (
        "PUT",
        "/api/computed-traits/missing",
        {"kind": "count", "event_type": "x"},
        Permission.segments_write,
    ),
    ("DELETE", "/api/computed-traits/missing", None, Permission.segments_write),
    ("GET", "/api/redirects", None, Permission.config_read),
    ("GET", "/api/redirects/missing", None, Permission.config_read),
    (
        "PUT",
        "/api/redirects/missing",
        {"url": "https://x.example", "source": "web-shop"},
        Permission.config_write,
    ),
    ("DELETE", "/api/redirects/missing", None, Permission.config_write),
    ("GET", "/api/jobs", None, Permission.config_read),
    ("GET", "/api/jobs/missing", None, Permission.config_read),
    ("GET", "/api/destinations", None, Permission.destinations),
    ("GET", "/api/destination-kinds", None, Permission.destinations),
    ("GET", "/api/destinations/missing", None, Permission.destinations),
    ("PUT", "/api/destinations/missing", {"kind": "x"}, Permission.destinations),
    ("DELETE", "/api/destinations/missing", None, Permission.destinations),
    ("GET", "/api/destinations/missing/deliveries", None, Permission.destinations),
    ("POST", "/api/destinations/missing/replay", {"status": "dead"}, Permission.destinations),
    ("POST", "/api/destinations/missing/test", None, Permission.destinations),
]


def _generic(path: str) -> str:
    """`/api/sources/web-shop` and `/api/sources/{source_id}` both become `/api/sources/{}`."""
    path = re.sub(r"\{[^}]+\}", "{}", path)
    return re.sub(r"/(missing|web-shop)(?=/|$)", "/{}", path)


def _endpoints(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """Every FastAPI route, descending into included routers (FastAPI >= 0.16x keeps
    them nested instead of copying their routes into the app's list)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _endpoints(included.routes)
        elif isinstance(route, APIRoute):
            yield route


def _api_routes(client: TestClient) -> set[tuple[str, str]]:
    """(method, generic path) of every admin operation, from the app's OpenAPI document,
    checked against the route table so no route hides from it."""
    paths = client.get("/openapi.json").json()["paths"]
    served = {
        (method.upper(), _generic(path))
        for path, operations in paths.items()
        if path.startswith("/api")
        for method in operations
    }
    routes = _endpoints(client.app.routes)  # type: ignore[attr-defined]
    # `GET /metrics` is outside /api: a key of any role may read it (tests/api/test_metrics.py)
    app_routes = [route for route in routes if route.path != "/metrics"]
    assert sum(len(r.methods) for r in app_routes) == len(served), "a route is not in OpenAPI"
    assert ("GET", "/api/sources") in served
    return served


def test_the_table_covers_every_api_route(client: TestClient) -> None:
    covered = {(method, _generic(path)) for method, path, _, _ in ROUTES}
    for method, path in sorted(_api_routes(client)):
        assert (method, path) in covered, f"{method} {path} has no access test"


def test_every_row_of_the_table_is_a_real_route(client: TestClient) -> None:
    """A stale row would test nothing while looking like coverage."""
    served = _api_routes(client)
    for method, path, _, _ in ROUTES:
        assert (method, _generic(path)) in served, f"{method} {path} is not served"


def test_wrong_keys_are_401_on_every_route(
    client: TestClient,
    admin: dict[str, str],
    web_source: str,
    key_for: Callable[[str], dict[str, str]],
) -> None:
    real = key_for("admin")["Authorization"].removeprefix("Bearer ")
    key_id = real.removeprefix("kith_").split("_")[0]
    revoked = key_for("admin")
    revoked_id = revoked["Authorization"].removeprefix("Bearer kith_").split("_")[0]
    assert client.delete(f"/api/keys/{revoked_id}", headers=admin).status_code == 204
    wrong_keys = [
        {"Authorization": "Bearer not-a-key"},
        {"Authorization": f"Bearer kith_{key_id}_not-the-secret"},  # a real id, wrong secret
        {"Authorization": f"Bearer {real}x"},
        {"Authorization": f"Basic {real}"},
        {"Authorization": real},
        {"Authorization": "Bearer "},
        {"X-Api-Key": real},
        revoked,
    ]
    for method, path, body, _ in ROUTES:
        for headers in wrong_keys:
            response = client.request(method, path, json=body, headers=headers)
            assert response.status_code == 401, (method, path, headers, response.status_code)
            assert real not in response.text


@pytest.mark.parametrize("role", list(Role))
def test_each_role_gets_exactly_its_permissions(
    role: Role,
    client: TestClient,
    web_source: str,
    key_for: Callable[[str], dict[str, str]],
) -> None:
    headers = key_for(role.value)
    for method, path, body, permission in ROUTES:
        response = client.request(method, path, json=body, headers=headers)
        if permission in ROLE_PERMISSIONS[role]:
            assert response.status_code not in (401, 403), (role, method, path, response.text)
        else:
            assert response.status_code == 403, (role, method, path, response.status_code)
        unauthenticated = client.request(method, path, json=body)
        assert unauthenticated.status_code == 401, (method, path)
