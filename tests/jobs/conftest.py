"""Job tests run on both engines; each test gets a fresh store (a schema on PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from kith.config import Settings
from kith.storage.ports import Storage
from tests.conftest import ENGINES
from tests.feed.helpers import open_engine, storage_settings
from tests.postgres import drop_schema, fresh_schema_url


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_settings(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Settings]:
    if engine == "sqlite":
        yield storage_settings(engine, tmp_path, None)
        return
    database: str = request.getfixturevalue("postgres_database")
    url, schema = fresh_schema_url(database)
    yield storage_settings(engine, tmp_path, url)
    drop_schema(database, schema)


@pytest.fixture
async def storage(store_settings: Settings) -> AsyncIterator[Storage]:
    store = open_engine(store_settings)
    await store.start()
    yield store
    await store.close()
