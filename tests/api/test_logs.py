"""Logs hold no secrets and, at the default level, no personal data.

A busy collector's logs are read by more people, kept longer and shipped to more
places than its database, so API keys never reach them and e-mails, phone
numbers and IPs stay out at the default level (`info`). The test drives the
paths that log (bootstrap, keys, merges, refusals, errors) with such values in
every field, and reads everything that was logged."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import new_source, payload
from tests.conftest import ADMIN_KEY

EMAIL = "alice.secret@example.com"
PHONE = "+48 601 234 567"
IP = "203.0.113.77"
IPV6 = "2001:db8::77"
CUSTOMER = "customer-secret"


def test_no_keys_or_personal_data_in_logs(
    caplog: pytest.LogCaptureFixture,
    make_client: Callable[..., TestClient],
    admin: dict[str, str],
) -> None:
    caplog.set_level(logging.INFO)  # the default KITH_LOG_LEVEL
    client = make_client(trusted_proxies="0.0.0.0/0,::/0")
    new_source(client, admin, "web-shop")
    created = client.post("/api/keys", json={"role": "viewer"}, headers=admin).json()
    secrets = [ADMIN_KEY, created["key"], created["key"].rsplit("_", 1)[1]]
    client.get("/api/sources", headers={"Authorization": f"Bearer {created['key']}"})
    client.get("/api/sources", headers={"Authorization": f"Bearer {created['key']}x"})
    client.get("/api/keys", headers={"Authorization": f"Bearer {created['key']}"})

    for index in range(6):  # one e-mail, six customer ids: the limit refuses the merges
        properties = {"email": EMAIL, "phone": PHONE, "id": f"{CUSTOMER}-{index}"}
        identify = {"type": "identify", "properties": properties}
        body = payload(f"log-{index}", events=[identify, {"type": "page-view"}])
        forwarded = {"X-Forwarded-For": IP if index % 2 else IPV6, "User-Agent": "Mozilla/5.0"}
        client.post("/track", json=body, headers=forwarded)
    client.post("/track", json=payload(EMAIL, profile=PHONE), headers={"X-Forwarded-For": IP})
    client.post("/track", content=f'{{"source": {{"id": "{EMAIL}"}}}}'.encode())
    client.post("/track", content=f'{{"email": "{EMAIL}"'.encode())
    client.get(f"/collect/{EMAIL}/web-shop/{PHONE}", params={"email": EMAIL})
    client.get(f"/api/profiles/{EMAIL}", headers=admin)
    client.get("/api/events", params={"type": EMAIL, "profile": PHONE}, headers=admin)

    # the test's own HTTP client logs its requests; that is not the server's log
    records = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in records)
    assert "bootstrap admin key" in logged and "merge refused" in logged, logged
    for secret in secrets:
        assert secret not in logged
    for personal in (EMAIL, PHONE, PHONE.replace(" ", ""), IP, IPV6, CUSTOMER):
        assert personal not in logged, (personal, logged)
