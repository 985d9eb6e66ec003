"""Every role against every admin route, checked against the one permission table."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
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
]


def _generic(path: str) -> str:
    """`/api/sources/web-shop` and `/api/sources/{source_id}` both become `/api/sources/{}`."""
    path = re.sub(r"\{[^}]+\}", "{}", path)
    return re.sub(r"/(missing|web-shop)(?=/|$)", "/{}", path)


def test_the_table_covers_every_api_route(client: TestClient) -> None:
    covered = {(method, _generic(path)) for method, path, _, _ in ROUTES}
    for route in client.app.routes:  # type: ignore[attr-defined]
        path = getattr(route, "path", "")
        if not path.startswith("/api"):
            continue
        for method in route.methods:  # type: ignore[attr-defined]
            assert (method, _generic(path)) in covered, f"{method} {path} has no access test"


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
