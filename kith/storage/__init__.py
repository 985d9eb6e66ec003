"""Storage: the ports the rest of Kith talks to, and one package per engine.

Nothing outside this package writes SQL. This module is the one place an engine
is chosen: `open_storage` for a running Kith, `open_migrations` for `kith
migrate` and for `kith serve` before its workers start."""

from __future__ import annotations

from kith.config import Settings
from kith.storage.ports import Migrations, Storage


def open_storage(settings: Settings) -> Storage:
    if settings.storage_kind == "postgresql":
        from kith.storage.postgres.engine import PostgresStorage

        return PostgresStorage(
            settings.storage_url or "",
            pool_size=settings.pg_pool_size,
            lock_connections=settings.pg_lock_connections,
            max_batch=settings.writer_max_batch,
            max_queue=settings.writer_max_queue,
        )
    from kith.storage.sqlite.engine import SQLiteStorage

    return SQLiteStorage(
        settings.sqlite_path,
        synchronous=settings.sqlite_synchronous,
        read_connections=settings.sqlite_read_connections,
        max_batch=settings.writer_max_batch,
        max_queue=settings.writer_max_queue,
    )


def open_migrations(settings: Settings) -> Migrations:
    if settings.storage_kind == "postgresql":
        from kith.storage.postgres.engine import PgMigrations

        return PgMigrations(settings.storage_url or "")
    from kith.storage.sqlite.engine import SQLiteMigrations

    return SQLiteMigrations(settings.sqlite_path)
