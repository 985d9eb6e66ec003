"""Queue tests run on both engines; each test gets a fresh store (a schema on PostgreSQL)."""

from tests.feed.conftest import engine, storage, store_settings

__all__ = ["engine", "storage", "store_settings"]
