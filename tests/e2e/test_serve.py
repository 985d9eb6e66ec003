"""`kith serve` as a real process: health, keys from the CLI, sources, tracking, shutdown."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import httpx2 as httpx

from tests.e2e.conftest import KITH, Server, create_source
from tests.postgres import drop_schema, fresh_schema_url

MINIMAL = Path(__file__).resolve().parents[1] / "fixtures" / "minimal.json"


def test_health_reports_the_embedded_store(server: Server) -> None:
    body = httpx.get(f"{server.url}/healthz").json()
    assert body["status"] == "ok"
    assert body["storage"] == "sqlite"
    assert body["version"]


def test_cli_keys_work_against_the_running_server(server: Server) -> None:
    out = subprocess.run(
        [
            *KITH,
            "keys",
            "create",
            "--role",
            "viewer",
            "--name",
            "ops",
            "--data-dir",
            str(server.data_dir),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    key = next(line.split()[-1] for line in out.splitlines() if line.startswith("key:"))
    key_id = next(line.split()[-1] for line in out.splitlines() if line.startswith("id:"))
    viewer = {"Authorization": f"Bearer {key}"}
    assert httpx.get(f"{server.url}/api/sources", headers=viewer).status_code == 200
    assert httpx.post(f"{server.url}/api/sources", json={}, headers=viewer).status_code == 403
    listed = subprocess.run(
        [*KITH, "keys", "list", "--data-dir", str(server.data_dir)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert key_id in listed and key not in listed
    subprocess.run(
        [*KITH, "keys", "revoke", key_id, "--data-dir", str(server.data_dir)],
        check=True,
        capture_output=True,
    )
    assert httpx.get(f"{server.url}/api/sources", headers=viewer).status_code == 401


def test_minimal_payload_round_trip(server: Server) -> None:
    create_source(server, "source-id")
    response = httpx.post(f"{server.url}/track", content=MINIMAL.read_bytes())
    assert response.status_code == 200
    profile_id = response.json()["profile"]["id"]
    profile = httpx.get(f"{server.url}/api/profiles/{profile_id}", headers=server.admin).json()
    assert profile["stats"]["visits"] == 1


def test_sigterm_exits_cleanly_and_keeps_data(server: Server) -> None:
    create_source(server)
    assert server.stop() in (0, -signal.SIGTERM)
    server.start()
    assert httpx.get(f"{server.url}/api/sources/web-shop", headers=server.admin).status_code == 200


def test_workers_above_one_on_sqlite_are_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        [*KITH, "serve", "--workers", "2", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "PostgreSQL" in result.stdout and "one process" in result.stdout


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    first = subprocess.run(
        [*KITH, "migrate", "--data-dir", str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert "from version 0 to" in first.stdout
    again = subprocess.run(
        [*KITH, "migrate", "--data-dir", str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert "up to date" in again.stdout


def test_migrate_on_postgresql(postgres_database: str) -> None:
    url, schema = fresh_schema_url(postgres_database)
    try:
        first = subprocess.run(
            [*KITH, "migrate", "--storage", url], capture_output=True, text=True, check=True
        )
        assert "PostgreSQL at" in first.stdout and "from version 0 to" in first.stdout
        again = subprocess.run(
            [*KITH, "migrate", "--storage", url], capture_output=True, text=True, check=True
        )
        assert "up to date" in again.stdout
    finally:
        drop_schema(postgres_database, schema)


def test_an_unreachable_postgresql_is_a_clear_message(tmp_path: Path) -> None:
    result = subprocess.run(
        [*KITH, "serve", "--storage", "postgresql://kith:secret@127.0.0.1:1/kith"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "Cannot reach PostgreSQL at 127.0.0.1:1/kith" in result.stdout
    assert "secret" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
