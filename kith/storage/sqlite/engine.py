"""The embedded storage engine: one SQLite file, one object per storage port.

The ports share one core (the file's connections and its group-commit writer,
see `core`); each is implemented in a module of its own."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from kith.storage.locks import KeyedLocks
from kith.storage.ports import ConfigListener, WriterStats
from kith.storage.sqlite.api_keys import SQLiteApiKeys
from kith.storage.sqlite.config import SQLiteConfig
from kith.storage.sqlite.core import SQLiteCore, migrate_file
from kith.storage.sqlite.data import SQLiteData
from kith.storage.sqlite.deliveries import SQLiteDeliveries
from kith.storage.sqlite.erasure import SQLiteErasure
from kith.storage.sqlite.feed import SQLiteFeed
from kith.storage.sqlite.ingest import SQLiteIngest
from kith.storage.sqlite.jobs import SQLiteJobs
from kith.storage.sqlite.profiles import SQLiteProfiles
from kith.storage.sqlite.sources import SQLiteSources
from kith.storage.sqlite.tracking import SQLiteTracking


class SQLiteMigrations:
    def __init__(self, path: Path) -> None:
        self._path = path

    async def migrate(self) -> tuple[int, int]:
        return migrate_file(self._path)

    def where(self) -> str:
        return str(self._path)


class SQLiteStorage:
    kind: Literal["sqlite"] = "sqlite"

    def __init__(
        self,
        path: Path,
        *,
        synchronous: Literal["normal", "full"] = "full",
        read_connections: int = 4,
        max_batch: int = 2000,
        max_queue: int = 10_000,
    ) -> None:
        self.path = path
        self.core = SQLiteCore(
            path,
            synchronous=synchronous,
            read_connections=read_connections,
            max_batch=max_batch,
            max_queue=max_queue,
        )
        self.locks = KeyedLocks()
        self.tracking = SQLiteTracking(self.core)
        self.sources = SQLiteSources(self.core)
        self.api_keys = SQLiteApiKeys(self.core)
        self.config = SQLiteConfig(self.core)
        self.data = SQLiteData(self.core)
        self.erasure = SQLiteErasure(self.core)
        self.feed = SQLiteFeed(self.core)
        self.jobs = SQLiteJobs(self.core)
        self.deliveries = SQLiteDeliveries(self.core)
        self.ingest = SQLiteIngest(self.core)
        self.profiles = SQLiteProfiles(self.core)

    async def start(self) -> None:
        self.core.open()

    async def close(self) -> None:
        await asyncio.to_thread(self.core.close)

    def subscribe(self, listener: ConfigListener) -> None:
        """One process owns the file, so no other process can change anything."""

    def on_commit(self, listener: Callable[[], None]) -> None:
        self.core.writer.on_commit(asyncio.get_running_loop(), listener)

    def observe_commits(self, observer: Callable[[int], None]) -> None:
        self.core.writer.observe_commits(observer)

    def writer_stats(self) -> WriterStats:
        writer = self.core.writer
        return WriterStats(writer.units, writer.commits, writer.queued)
