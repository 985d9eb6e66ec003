"""Segment refreshes in real `kith serve` processes: progress, kill -9, takeover."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from tests.e2e.conftest import KITH, Server, create_source
from tests.postgres import drop_schema, fresh_schema_url

Json = dict[str, Any]
PROFILES = 10_000


def load_profiles(server: Server, count: int) -> None:
    """`count` new visitors, 500 a request."""
    with httpx.Client(timeout=120) as client:
        for start in range(0, count, 500):
            batch = [
                {"source": {"id": "web-shop"}, "session": {"id": f"seg-{n}"},
                 "events": [{"type": "page-view"}]}
                for n in range(start, min(count, start + 500))
            ]  # fmt: skip
            response = client.put(f"{server.url}/track", json=batch)
            assert response.status_code == 200, response.text


def job(server: Server, job_id: str) -> Json:
    response = httpx.get(f"{server.url}/api/jobs/{job_id}", headers=server.admin, timeout=30)
    assert response.status_code == 200, response.text
    found: Json = response.json()
    return found


def wait(server: Server, job_id: str, until: Any, seconds: float = 120) -> Json:
    deadline = time.monotonic() + seconds
    while True:
        current = job(server, job_id)
        if until(current):
            return current
        assert current["status"] != "failed", current
        assert time.monotonic() < deadline, current
        time.sleep(0.05)


def define_segment(server: Server) -> str:
    response = httpx.put(
        f"{server.url}/api/segments/visitors",
        json={"condition": "profile@stats.views >= 1"},
        headers=server.admin,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["job"])


def entered(server: Server) -> int:
    response = httpx.get(
        f"{server.url}/api/events/stats",
        params={"interval": "day", "by": "type", "from": "2020-01-01", "to": "2040-01-01"},
        headers=server.admin,
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return sum(bucket["groups"].get("segment-entered", 0) for bucket in response.json()["buckets"])


def test_a_refresh_killed_mid_way_resumes_after_a_restart(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", env={"KITH_LEASE_SECONDS": "2"})
    server.start()
    try:
        create_source(server)
        load_profiles(server, PROFILES)
        job_id = define_segment(server)
        halfway = wait(server, job_id, lambda j: j["done"] >= 2000 and j["status"] == "running")
        assert halfway["total"] == PROFILES and halfway["done"] < PROFILES
        server.kill()
        server.start()
        done = wait(server, job_id, lambda j: j["status"] == "done")
        assert done["done"] == done["total"] == PROFILES
        size = httpx.get(f"{server.url}/api/segments/visitors", headers=server.admin).json()
        assert size["size"] == PROFILES
        assert entered(server) == PROFILES  # each profile entered once, none twice
    finally:
        if server.process is not None:
            server.stop()


def test_kith_segments_refresh_shows_progress_and_finishes(tmp_path: Path) -> None:
    server = Server(tmp_path / "data")
    server.start()
    try:
        create_source(server)
        load_profiles(server, 500)
        wait(server, define_segment(server), lambda j: j["status"] == "done")
        result = subprocess.run(
            [*KITH, "segments", "refresh", "visitors", "--data-dir", str(server.data_dir)],
            capture_output=True,
            text=True,
            env={**os.environ, "COLUMNS": "200"},
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Refreshed visitors: 500 profiles" in result.stdout
        assert "refresh visitors" in result.stderr  # the progress bar
        missing = subprocess.run(
            [*KITH, "segments", "refresh", "nope", "--data-dir", str(server.data_dir)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert missing.returncode == 2 and "No segment 'nope'" in missing.stdout
    finally:
        server.stop()


def test_serve_help_names_each_variable_and_default() -> None:
    result = subprocess.run(
        [*KITH, "serve", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=60,
    )
    assert "[env KITH_HOST; default: 0.0.0.0]" in result.stdout
    assert "[env KITH_PORT; default: 8686]" in result.stdout


@pytest.fixture
def pg_pair(tmp_path: Path, postgres_database: str) -> Any:
    url, schema = fresh_schema_url(postgres_database)
    env = {"KITH_STORAGE_URL": url, "KITH_PG_POOL_SIZE": "4", "KITH_LEASE_SECONDS": "2"}
    servers = (Server(tmp_path / "one", env=env), Server(tmp_path / "two", env=env))
    yield servers
    for server in servers:
        if server.process is not None:
            server.stop()
    drop_schema(postgres_database, schema)


def test_postgresql_another_process_finishes_a_refresh_whose_process_died(
    pg_pair: tuple[Server, Server],
) -> None:
    first, second = pg_pair
    first.start()
    create_source(first)
    load_profiles(first, 6000)
    job_id = define_segment(first)
    wait(first, job_id, lambda j: j["done"] >= 1000 and j["status"] == "running")
    second.start()
    first.kill()
    done = wait(second, job_id, lambda j: j["status"] == "done")
    assert done["done"] == done["total"] == 6000
    assert entered(second) == 6000
