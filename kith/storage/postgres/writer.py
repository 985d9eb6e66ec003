"""Group commit for PostgreSQL: one writer task per process, one transaction per batch.

The same contract as the embedded writer: callers submit units of work and are
answered only after the transaction holding them committed; every unit waiting
when the writer wakes shares that transaction (one WAL flush for all); a failing
unit is rolled back to its savepoint and fails alone. Row-shaped units are merged
into one `executemany` per statement, which asyncpg pipelines in one round trip."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from kith.domain.errors import Overloaded
from kith.storage.outcomes import settle

log = logging.getLogger(__name__)
Work = Callable[[asyncpg.Connection], Awaitable[Any]]


@dataclass(slots=True, frozen=True)
class Statements:
    """A unit of work given as (SQL, parameter rows) in order."""

    statements: list[tuple[str, list[tuple[Any, ...]]]]


@dataclass(slots=True)
class _Job:
    work: Work | Statements
    future: asyncio.Future[Any]


class PgGroupCommitWriter:
    def __init__(
        self, pool: asyncpg.Pool, *, max_batch: int = 2000, max_queue: int = 10_000
    ) -> None:
        self._pool = pool
        self._max_batch = max_batch
        self._max_queue = max_queue
        self._queue: asyncio.Queue[_Job | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.units = 0
        self.commits = 0
        self._listeners: list[Callable[[], None]] = []
        self._observers: list[Callable[[int], None]] = []

    def on_commit(self, listener: Callable[[], None]) -> None:
        """Call `listener()` after every commit (feed consumers wake on it)."""
        self._listeners.append(listener)

    def observe_commits(self, observer: Callable[[int], None]) -> None:
        """Call `observer(units)` after every commit (metrics)."""
        self._observers.append(observer)

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="kith-pg-writer")

    async def submit(self, work: Work | Statements) -> Any:
        if self._task is None or self._task.done():
            raise RuntimeError("the writer is not running")
        if self._queue.qsize() >= self._max_queue:
            raise Overloaded("The writer queue is full; retry shortly")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Job(work, future))
        return await future

    async def close(self) -> None:
        """Commit everything already submitted, then stop."""
        if self._task is None:
            return
        self._queue.put_nowait(None)
        await self._task
        self._task = None

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            batch: list[_Job] = []
            item = await self._queue.get()
            while True:
                if item is None:
                    stopping = True
                else:
                    batch.append(item)
                if len(batch) >= self._max_batch or self._queue.empty():
                    break
                item = self._queue.get_nowait()
            if batch:
                await self._commit(batch)

    async def _commit(self, batch: list[_Job]) -> None:
        outcomes: list[tuple[_Job, BaseException | None, Any]] = []
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                start = 0
                while start < len(batch):
                    end = start
                    while end < len(batch) and isinstance(batch[end].work, Statements):
                        end += 1
                    if end > start:
                        outcomes += await self._run_rows(conn, batch[start:end])
                        start = end
                    else:
                        outcomes.append(await self._run_one(conn, batch[start]))
                        start += 1
        except Exception as exc:  # the transaction itself failed: nobody's unit is stored
            log.exception("group commit of %d units failed", len(batch))
            outcomes = [(job, exc, None) for job in batch]
        else:
            self.units += len(batch)
            self.commits += 1
            for observe in self._observers:
                observe(len(batch))
            for listener in self._listeners:
                listener()
        settle(outcomes)

    async def _run_rows(
        self, conn: asyncpg.Connection, jobs: list[_Job]
    ) -> list[tuple[_Job, BaseException | None, Any]]:
        merged: dict[str, list[tuple[Any, ...]]] = {}
        for job in jobs:
            assert isinstance(job.work, Statements)
            for sql, rows in job.work.statements:
                merged.setdefault(sql, []).extend(rows)
        try:
            async with conn.transaction():
                for sql, rows in merged.items():
                    await conn.executemany(sql, rows)
        except Exception:
            return [await self._run_one(conn, job) for job in jobs]
        return [(job, None, None) for job in jobs]

    async def _run_one(
        self, conn: asyncpg.Connection, job: _Job
    ) -> tuple[_Job, BaseException | None, Any]:
        try:
            async with conn.transaction():
                if isinstance(job.work, Statements):
                    for sql, rows in job.work.statements:
                        await conn.executemany(sql, rows)
                    value = None
                else:
                    value = await job.work(conn)
        except Exception as exc:
            return (job, exc, None)
        return (job, None, value)
