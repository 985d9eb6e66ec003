"""`kith migrate --from sqlite:PATH --to postgresql://...` copies everything across."""

from __future__ import annotations

import subprocess
from pathlib import Path

from fastapi.testclient import TestClient

from kith.app import build_app
from kith.config import Settings
from tests.api.helpers import all_events, get_json, payload, track
from tests.e2e.conftest import KITH
from tests.postgres import drop_schema, fresh_schema_url

ADMIN = "kith_copyadmin_0123456789abcdef"
HEADERS = {"Authorization": f"Bearer {ADMIN}"}


def test_an_embedded_store_copies_into_postgresql(tmp_path: Path, postgres_database: str) -> None:
    embedded = Settings(data_dir=tmp_path, bootstrap_admin_key=ADMIN)
    with TestClient(build_app(embedded)) as client:
        client.post("/api/sources", json={"id": "web-shop"}, headers=HEADERS)
        client.put("/api/consent-types/marketing", json={"auto_expiry_days": 9}, headers=HEADERS)
        identify = {"type": "identify", "properties": {"email": "copy@example.com"}}
        first = track(client, payload("s1", events=[identify, {"type": "page-view"}]))
        track(client, payload("s2", events=[{"type": "page-view"}]))
        track(client, payload("s2", events=[identify]))  # merges s2's profile into s1's
        profile_id = first["profile"]["id"]
        before = get_json(client, HEADERS, f"/api/profiles/{profile_id}")
        events_before = all_events(client, HEADERS)

    url, schema = fresh_schema_url(postgres_database)
    try:
        done = subprocess.run(
            [*KITH, "migrate", "--from", f"sqlite:{embedded.sqlite_path}", "--to", url],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert "Copied" in done.stdout and "2 profiles" not in done.stdout

        scaled = Settings(data_dir=tmp_path / "unused", storage_url=url)
        with TestClient(build_app(scaled)) as client:
            after = get_json(client, HEADERS, f"/api/profiles/{profile_id}")  # the key came too
            assert after == before
            for old_id in before["ids"]:  # identities came along: old ids resolve
                assert get_json(client, HEADERS, f"/api/profiles/{old_id}")["id"] == profile_id
            assert sorted(e["id"] for e in all_events(client, HEADERS)) == sorted(
                e["id"] for e in events_before
            )
            assert (
                get_json(client, HEADERS, "/api/consent-types/marketing")["auto_expiry_days"] == 9
            )
            again = track(client, payload("s1", events=[{"type": "page-view"}]))
            assert again["profile"]["id"] == profile_id
    finally:
        drop_schema(postgres_database, schema)
