"""The PostgreSQL engine: one object per storage port over shared pools.

Many Kith processes share one database. Locks are advisory locks (see `locks`),
so processes on different machines serialise on the same visitor and the same
person; configuration changes reach every process through LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Literal

import asyncpg

from kith.domain.clock import utcnow
from kith.storage.ports import ConfigListener, WriterStats
from kith.storage.postgres.api_keys import PgApiKeys
from kith.storage.postgres.config import PgConfig
from kith.storage.postgres.core import (
    CONFIG_CHANNEL,
    PgCore,
    connect,
    migrate_database,
    open_pool,
    where_of,
)
from kith.storage.postgres.data import PgData
from kith.storage.postgres.deliveries import PgDeliveries
from kith.storage.postgres.erasure import PgErasure
from kith.storage.postgres.feed import PgFeed
from kith.storage.postgres.ingest import INGEST_BULK, PgIngest
from kith.storage.postgres.jobs import PgJobs
from kith.storage.postgres.locks import AdvisoryLocks
from kith.storage.postgres.profiles import PgProfiles
from kith.storage.postgres.schema import ensure_partitions
from kith.storage.postgres.sources import PgSources
from kith.storage.postgres.tracking import VISIT_BULK, PgTracking
from kith.storage.postgres.writer import PgGroupCommitWriter

log = logging.getLogger(__name__)


class PgMigrations:
    def __init__(self, url: str) -> None:
        self._url = url

    async def migrate(self) -> tuple[int, int]:
        return await migrate_database(self._url)

    def where(self) -> str:
        return f"PostgreSQL at {where_of(self._url)}"


class PostgresStorage:
    kind: Literal["postgresql"] = "postgresql"

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 8,
        lock_connections: int = 32,
        max_batch: int = 2000,
        max_queue: int = 10_000,
    ) -> None:
        self.url = url
        self._pool_size = pool_size
        self._lock_connections = lock_connections
        self._max_batch = max_batch
        self._max_queue = max_queue
        self.core = PgCore()
        self._lock_pool: asyncpg.Pool | None = None
        self._locks: AdvisoryLocks | None = None
        self._listener: asyncpg.Connection | None = None
        self._listeners: list[ConfigListener] = []
        self._observers: list[Callable[[int], None]] = []
        self._maintenance: asyncio.Task[None] | None = None
        self.tracking = PgTracking(self.core)
        self.sources = PgSources(self.core)
        self.api_keys = PgApiKeys(self.core)
        self.config = PgConfig(self.core)
        self.data = PgData(self.core)
        self.erasure = PgErasure(self.core)
        self.feed = PgFeed(self.core)
        self.jobs = PgJobs(self.core)
        self.deliveries = PgDeliveries(self.core)
        self.ingest = PgIngest(self.core)
        self.profiles = PgProfiles(self.core)

    async def start(self) -> None:
        await migrate_database(self.url)
        pool = await open_pool(self.url, max_size=self._pool_size)
        # locks get their own connections: a request holds one for its whole length,
        # and must never wait for a query connection held by another lock holder
        self._lock_pool = await open_pool(self.url, min_size=1, max_size=self._lock_connections)
        self._locks = AdvisoryLocks(self._lock_pool)
        writer = PgGroupCommitWriter(
            pool,
            max_batch=self._max_batch,
            max_queue=self._max_queue,
            bulk={**VISIT_BULK, **INGEST_BULK},
        )
        for observer in self._observers:
            writer.observe_commits(observer)
        writer.start()
        self.core.attach(pool, writer)
        self._listener = await connect(self.url)
        await self._listener.add_listener(CONFIG_CHANNEL, self._notified)
        self._maintenance = asyncio.create_task(self._partitions_ahead())

    async def close(self) -> None:
        if self._maintenance is not None:
            self._maintenance.cancel()
            await asyncio.gather(self._maintenance, return_exceptions=True)
        pool = self.core.pool if self.core.started else None
        if pool is not None:
            await self.core.writer.close()
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
        for each in (self._lock_pool, pool):
            if each is not None:
                await each.close()
        self._lock_pool = None
        self.core.detach()

    async def _partitions_ahead(self) -> None:
        """Keep three months of event partitions ahead, checked twice a day."""
        while True:
            await asyncio.sleep(12 * 3600)
            try:
                async with self.core.pool.acquire() as conn:
                    await ensure_partitions(conn, utcnow())
            except Exception:  # retried at the next round; the default partition catches all
                log.exception("could not create event partitions")

    def subscribe(self, listener: ConfigListener) -> None:
        self._listeners.append(listener)

    def on_commit(self, listener: Callable[[], None]) -> None:
        self.core.writer.on_commit(listener)

    def observe_commits(self, observer: Callable[[int], None]) -> None:
        self._observers.append(observer)
        if self.core.started:
            self.core.writer.observe_commits(observer)

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        kind, _, key = payload.partition(":")
        for listener in self._listeners:
            listener(kind, key)

    @property
    def pool(self) -> asyncpg.Pool:
        return self.core.pool

    @property
    def locks(self) -> AdvisoryLocks:
        if self._locks is None:
            raise RuntimeError("storage is not started")
        return self._locks

    def writer_stats(self) -> WriterStats:
        if not self.core.started:
            return WriterStats(0, 0, 0)
        writer = self.core.writer
        return WriterStats(writer.units, writer.commits, writer.queued)
