"""Storage: the port the rest of Kith talks to, and one package per engine.

Nothing outside this package writes SQL. `open_storage` is the one place an
engine is chosen."""

from __future__ import annotations

from kith.config import Settings
from kith.storage.ports import Storage


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
    )
