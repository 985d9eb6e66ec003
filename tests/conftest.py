"""Shared fixtures: a fresh store per test, the app over TestClient, keys per role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kith.app import build_app
from kith.config import Settings
from tests.postgres import create_database, drop_database, drop_schema, fresh_schema_url

ADMIN_KEY = "kith_testadmin_0123456789abcdef"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


ENGINES = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """One fresh database for the whole run (dropped at the end)."""
    name = create_database()
    yield name
    drop_database(name)


@pytest.fixture
def engine() -> str:
    """The storage engine; tests/api runs every test once per engine."""
    return "sqlite"


@pytest.fixture
def settings(tmp_path: Path, engine: str, request: pytest.FixtureRequest) -> Iterator[Settings]:
    if engine == "sqlite":
        yield Settings(data_dir=tmp_path / "data", bootstrap_admin_key=ADMIN_KEY)
        return
    database: str = request.getfixturevalue("postgres_database")
    url, schema = fresh_schema_url(database)
    yield Settings(
        data_dir=tmp_path / "data",
        storage_url=url,
        bootstrap_admin_key=ADMIN_KEY,
        pg_pool_size=4,
        pg_lock_connections=8,
    )
    drop_schema(database, schema)


@pytest.fixture
def make_client(settings: Settings) -> Iterator[Callable[..., TestClient]]:
    """Build a client over the app with settings overridden per test."""
    opened: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        merged = settings.model_copy(update=overrides) if overrides else settings
        client = TestClient(build_app(merged), raise_server_exceptions=True)
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


@pytest.fixture
def admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture
def key_for(client: TestClient, admin: dict[str, str]) -> Callable[[str], dict[str, str]]:
    """Headers carrying a fresh key of the given role."""

    def make(role: str) -> dict[str, str]:
        response = client.post("/api/keys", json={"role": role, "name": role}, headers=admin)
        assert response.status_code == 201, response.text
        return {"Authorization": f"Bearer {response.json()['key']}"}

    return make


@pytest.fixture
def web_source(client: TestClient, admin: dict[str, str]) -> str:
    response = client.post(
        "/api/sources",
        json={"id": "web-shop", "name": "Web shop", "bridges": ["rest", "webhook"]},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    return "web-shop"
