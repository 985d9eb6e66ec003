"""CORS: collector routes per source (`allowed_origins`), admin routes per KITH_ADMIN_ORIGINS."""

from __future__ import annotations

from collections.abc import Callable

import orjson
import pytest
from fastapi.testclient import TestClient

from kith.api.cors import allow_origin, origin_matches
from tests.api.helpers import new_source, payload

SHOP = "https://shop.example.com"
EVIL = "https://evil.example.net"
CORS_HEADERS = (
    "access-control-allow-origin",
    "access-control-allow-methods",
    "access-control-allow-credentials",
)


def preflight(client: TestClient, path: str, origin: str, method: str = "POST") -> dict[str, str]:
    response = client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status_code in (200, 204), response.text
    return dict(response.headers)


def no_cors(headers: dict[str, str]) -> bool:
    return not any(name in headers for name in CORS_HEADERS)


def echoed(headers: dict[str, str], origin: str) -> bool:
    """What a credentialed request (a beacon) needs: the exact origin, credentials allowed."""
    return (
        headers.get("access-control-allow-origin") == origin
        and headers.get("access-control-allow-credentials") == "true"
        and "origin" in headers.get("vary", "").lower()
    )


@pytest.fixture
def shop(client: TestClient, admin: dict[str, str]) -> str:
    """A source that only the shop's pages may talk to from a browser."""
    return new_source(client, admin, "shop", allowed_origins=[SHOP])


def test_default_source_allows_any_origin_by_echoing_it(
    client: TestClient, web_source: str
) -> None:
    """`["*"]` admits every origin, answered with the origin itself, never `*`."""
    headers = preflight(client, "/track", EVIL)
    assert echoed(headers, EVIL)
    assert "POST" in headers["access-control-allow-methods"]
    assert headers["access-control-allow-headers"] == "content-type"
    response = client.post("/track", json=payload("c1"), headers={"Origin": EVIL})
    assert response.status_code == 200
    assert echoed(dict(response.headers), EVIL)
    assert "x-process-time" in response.headers["access-control-expose-headers"]
    assert preflight(client, "/track", SHOP)["access-control-allow-origin"] == SHOP


def test_a_json_beacon_preflight_is_admitted_with_credentials(
    client: TestClient, shop: str
) -> None:
    """Chrome's preflight for `sendBeacon(url, Blob([json], {type: "application/json"}))`.

    The beacon is sent in credentials mode "include", so the browser refuses it
    unless the preflight names the exact origin and allows credentials."""
    response = client.options(
        "/track",
        headers={
            "Origin": SHOP,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status_code == 204
    assert echoed(dict(response.headers), SHOP)
    beacon = client.post(
        "/track",
        content=orjson.dumps(payload("b1", source=shop)),
        headers={"Origin": SHOP, "Content-Type": "application/json"},
    )
    assert beacon.status_code == 200 and echoed(dict(beacon.headers), SHOP)


def test_private_network_preflights_are_admitted_for_allowed_origins(
    client: TestClient, shop: str
) -> None:
    asked = {
        "Origin": SHOP,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Private-Network": "true",
    }
    allowed = client.options("/track", headers=asked)
    assert allowed.headers["access-control-allow-private-network"] == "true"
    refused = client.options("/track", headers={**asked, "Origin": EVIL})
    assert "access-control-allow-private-network" not in refused.headers
    assert no_cors(dict(refused.headers))


def test_a_source_allows_only_its_origins_on_answers(client: TestClient, shop: str) -> None:
    allowed = client.post("/track", json=payload("c1", source=shop), headers={"Origin": SHOP})
    assert allowed.status_code == 200
    assert echoed(dict(allowed.headers), SHOP)
    refused = client.post("/track", json=payload("c2", source=shop), headers={"Origin": EVIL})
    assert refused.status_code == 200  # CORS governs reading the answer, not storing
    assert no_cors(dict(refused.headers))


def test_track_preflight_admits_origins_some_source_allows(client: TestClient, shop: str) -> None:
    assert echoed(preflight(client, "/track", SHOP), SHOP)
    assert no_cors(preflight(client, "/track", EVIL))


def test_webhook_preflight_answers_from_the_named_source(
    client: TestClient, admin: dict[str, str], shop: str
) -> None:
    new_source(client, admin, "open")  # allows "*", but is not the source asked about
    path = f"/collect/page-view/{shop}/s1"
    assert echoed(preflight(client, path, SHOP), SHOP)
    assert no_cors(preflight(client, path, EVIL))
    assert no_cors(preflight(client, "/collect/page-view/unknown", SHOP))
    got = client.get(f"/collect/page-view/{shop}", headers={"Origin": EVIL})
    assert got.status_code == 200 and no_cors(dict(got.headers))
    got = client.get(f"/collect/page-view/{shop}", headers={"Origin": SHOP})
    assert echoed(dict(got.headers), SHOP)


def test_a_batch_is_readable_only_if_every_source_allows_the_origin(
    client: TestClient, admin: dict[str, str], shop: str
) -> None:
    new_source(client, admin, "other", allowed_origins=["https://other.example.com"])
    both = [payload("b1", source=shop), payload("b2", source="other")]
    response = client.put("/track", json=both, headers={"Origin": SHOP})
    assert response.status_code == 200 and no_cors(dict(response.headers))
    response = client.put("/track", json=both[:1], headers={"Origin": SHOP})
    assert echoed(dict(response.headers), SHOP)


def test_errors_carry_cors_headers_for_allowed_origins(client: TestClient, shop: str) -> None:
    """So the page can read why (a 422 before the source is known uses the /track rule)."""
    bad = client.post("/track", content=b"{", headers={"Origin": SHOP})
    assert bad.status_code == 422
    assert echoed(dict(bad.headers), SHOP)
    bad = client.post("/track", content=b"{", headers={"Origin": EVIL})
    assert bad.status_code == 422 and no_cors(dict(bad.headers))


def test_requests_without_origin_get_no_cors_headers(client: TestClient, web_source: str) -> None:
    response = client.post("/track", json=payload("c1"))
    assert response.status_code == 200 and no_cors(dict(response.headers))
    plain = client.options("/track")
    assert plain.status_code == 204 and no_cors(dict(plain.headers))


def test_subdomain_patterns() -> None:
    assert origin_matches("https://a.shop.example.com", "https://*.shop.example.com")
    assert origin_matches("https://A.Shop.Example.com/", "https://*.shop.example.com")
    assert not origin_matches("https://shop.example.com", "https://*.shop.example.com")
    assert not origin_matches("http://a.shop.example.com", "https://*.shop.example.com")
    assert not origin_matches("https://evilshop.example.com", "https://*.shop.example.com")
    assert not origin_matches("https://shop.example.com.evil.net", "https://shop.example.com")
    assert allow_origin(SHOP, [EVIL, SHOP]) == SHOP
    assert allow_origin(SHOP, [EVIL]) is None
    assert allow_origin(SHOP, ["*"]) == SHOP  # echoed, never "*"
    assert allow_origin(SHOP, [" * ", EVIL]) == SHOP


def test_admin_routes_allow_only_the_configured_origins(
    make_client: Callable[..., TestClient], admin: dict[str, str]
) -> None:
    console = "https://console.example.com"
    client = make_client(admin_origins=f"{console}, https://ops.example.com/")
    headers = preflight(client, "/api/sources", console, "GET")
    assert headers["access-control-allow-origin"] == console
    assert "authorization" in headers["access-control-allow-headers"].lower()
    response = client.get("/api/sources", headers={**admin, "Origin": console})
    assert response.headers["access-control-allow-origin"] == console
    response = client.get("/api/sources", headers={**admin, "Origin": "https://ops.example.com"})
    assert response.headers["access-control-allow-origin"] == "https://ops.example.com"
    response = client.get("/api/sources", headers={**admin, "Origin": EVIL})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    refused = client.options(
        "/api/sources", headers={"Origin": EVIL, "Access-Control-Request-Method": "GET"}
    )
    assert "access-control-allow-origin" not in refused.headers


def test_admin_routes_have_no_cors_by_default(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    response = client.get("/api/sources", headers={**admin, "Origin": SHOP})
    assert response.status_code == 200 and no_cors(dict(response.headers))
    refused = client.options(
        "/api/sources", headers={"Origin": SHOP, "Access-Control-Request-Method": "GET"}
    )
    assert "access-control-allow-origin" not in refused.headers
