"""Forgetting a person (DELETE /api/profiles/{id}) and exporting one, over HTTP."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import orjson
from fastapi.testclient import TestClient

from kith.config import Settings
from tests.api.helpers import (
    Headers,
    all_events,
    get_json,
    get_profile,
    get_session,
    payload,
    track,
)
from tests.store_rows import rows


def store_bytes(settings: Settings) -> bytes:
    """Every file of the store after a checkpoint: the database, WAL and shared memory.

    On PostgreSQL, whose files belong to the server, every stored row instead:
    erased rows must be gone from every table (the server reclaims their space
    at its next VACUUM; see docs/security.md)."""
    if settings.storage_kind == "postgresql":
        texts = rows(
            settings,
            "SELECT doc::text FROM profiles UNION ALL SELECT doc::text FROM sessions"
            " UNION ALL SELECT doc::text FROM events UNION ALL SELECT value FROM identities",
        )
        return "\n".join(text for (text,) in texts).encode()
    path = settings.sqlite_path
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    files = [p for p in Path(path).parent.iterdir() if p.name.startswith(path.name)]
    return b"".join(p.read_bytes() for p in files)


def test_erase_leaves_nothing_in_the_api_or_the_files(
    client: TestClient, admin: Headers, web_source: str, settings: Settings
) -> None:
    email = f"erase-{uuid.uuid4().hex}@example.com"
    identify = {"type": "identify", "properties": {"email": email, "firstname": "Erin"}}
    first = track(client, payload("e-1", events=[identify, {"type": "page-view"}]))
    pid = first["profile"]["id"]
    track(client, payload("e-2", profile=pid, events=[{"type": "page-view"}] * 3))
    keep = track(client, payload("k-1", events=[{"type": "page-view"}]))["profile"]["id"]
    assert email.encode() in store_bytes(settings)
    events = len(all_events(client, admin, profile=pid))

    response = client.delete(f"/api/profiles/{pid}", headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == pid
    deleted = body["deleted"]
    assert deleted["profiles"] == 1 and deleted["sessions"] == 2 and deleted["events"] == events
    assert deleted["ids"] >= 1 and deleted["identities"] >= 1

    assert get_profile(client, admin, pid) is None
    assert get_session(client, admin, "e-1") is None and get_session(client, admin, "e-2") is None
    assert all_events(client, admin, profile=pid) == []
    assert get_json(client, admin, f"/api/profiles?q={email}")["items"] == []
    assert get_profile(client, admin, keep) is not None
    assert email.encode() not in store_bytes(settings)
    assert b"Erin" not in store_bytes(settings)


def test_erase_by_a_merged_or_secondary_id_and_role(
    client: TestClient, admin: Headers, web_source: str, key_for: object
) -> None:
    pid = track(client, payload("m-1"))["profile"]["id"]
    developer = key_for("developer")  # type: ignore[operator]
    assert client.delete(f"/api/profiles/{pid}", headers=developer).status_code == 403
    assert client.delete(f"/api/profiles/{pid}", headers=admin).status_code == 200
    # the person can come back: a new hit makes a new profile
    again = track(client, payload("m-1"))
    assert again["profile"]["id"] != pid


def test_export_is_complete_and_streamed(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    pid = track(client, payload("x-1", n_events=900))["profile"]["id"]
    track(client, payload("x-2", profile=pid, n_events=900))
    other = track(client, payload("y-1", n_events=5))["profile"]["id"]
    with client.stream("GET", f"/api/profiles/{pid}/export", headers=admin) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        chunks = list(response.iter_raw())
    # head, sessions, separator, two pages of 1,000 events, tail: written page by page
    assert len(chunks) >= 5
    document = orjson.loads(b"".join(chunks))
    assert document["profile"]["id"] == pid
    assert [s["id"] for s in document["sessions"]] == ["x-2", "x-1"]
    expected = {e["id"] for e in all_events(client, admin, profile=pid)}
    exported = [e["id"] for e in document["events"]]
    assert len(exported) == len(expected) == 1800 + 6 - 1  # profile-created once
    assert set(exported) == expected
    assert all(e["profile"]["id"] == pid for e in document["events"])
    assert other not in {e["profile"]["id"] for e in document["events"]}
