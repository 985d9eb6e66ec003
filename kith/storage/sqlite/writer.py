"""The group-commit writer: one thread owns the SQLite write connection.

Callers submit units of work (functions of the connection) and await their
result. The thread takes every unit waiting when it wakes, runs each inside its
own SAVEPOINT, and commits them all in one transaction; only then are the
callers' futures resolved. A unit that raises is rolled back to its savepoint and
only its caller sees the error. One fsync per batch instead of one per request is
where the embedded engine's throughput comes from."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from kith.domain.errors import Overloaded
from kith.storage.outcomes import settle

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(slots=True, frozen=True)
class RowWrites:
    """A unit of work given as plain rows: (SQL, parameter rows) in order.

    Units of this kind waiting together are merged into one executemany per
    statement; later units' rows come later, so upserts of one key keep the
    order in which they were submitted."""

    statements: list[tuple[str, list[tuple[Any, ...]]]]


@dataclass(slots=True)
class _Job:
    work: Callable[[sqlite3.Connection], Any] | RowWrites
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


_Outcome = tuple[_Job, BaseException | None, Any]


_STOP = None


class GroupCommitWriter:
    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        *,
        max_batch: int = 2000,
        max_queue: int = 100_000,
    ) -> None:
        self._connect = connect
        self._max_batch = max_batch
        self._max_queue = max_queue
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.units = 0
        self.commits = 0
        self._listeners: list[tuple[asyncio.AbstractEventLoop, Callable[[], None]]] = []
        self._observers: list[Callable[[int], None]] = []

    def on_commit(self, loop: asyncio.AbstractEventLoop, listener: Callable[[], None]) -> None:
        """Call `listener()` on `loop` after every commit (feed consumers wake on it)."""
        self._listeners.append((loop, listener))

    def observe_commits(self, observer: Callable[[int], None]) -> None:
        """Call `observer(units)` in the writer thread after every commit (metrics)."""
        self._observers.append(observer)

    def start(self) -> None:
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, args=(ready, failure), name="kith-writer", daemon=True
        )
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    async def submit(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` in the writer's transaction; return once that transaction committed."""
        return await self._enqueue(work)  # type: ignore[no-any-return]

    async def submit_rows(self, rows: RowWrites) -> None:
        """Write `rows` in the writer's transaction; return once that transaction committed."""
        await self._enqueue(rows)

    async def _enqueue(self, work: Callable[[sqlite3.Connection], Any] | RowWrites) -> Any:
        if self._thread is None or not self._thread.is_alive():
            raise RuntimeError("the writer is not running")
        if self._queue.qsize() >= self._max_queue:
            raise Overloaded("The writer queue is full; retry shortly")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.put(_Job(work, future, loop))
        return await future

    def close(self) -> None:
        """Commit everything already submitted, then stop the thread."""
        if self._thread is None:
            return
        self._queue.put(_STOP)
        self._thread.join()
        self._thread = None

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        try:
            conn = self._connect()
        except BaseException as exc:
            failure.append(exc)
            ready.set()
            return
        ready.set()
        try:
            stopping = False
            while not stopping:
                batch: list[_Job] = []
                item = self._queue.get()
                while True:
                    if item is _STOP:
                        stopping = True
                    else:
                        batch.append(item)
                    if len(batch) >= self._max_batch:
                        break
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                if batch:
                    self._commit(conn, batch)
        finally:
            conn.close()

    def _commit(self, conn: sqlite3.Connection, batch: list[_Job]) -> None:
        outcomes: list[_Outcome] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            start = 0
            while start < len(batch):
                end = start
                while end < len(batch) and isinstance(batch[end].work, RowWrites):
                    end += 1
                if end > start:
                    outcomes += self._run_rows(conn, batch[start:end])
                    start = end
                else:
                    outcomes.append(self._run_one(conn, batch[start]))
                    start += 1
            conn.execute("COMMIT")
        except Exception as exc:  # the commit itself failed: nobody's unit is stored
            log.exception("group commit of %d units failed", len(batch))
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            outcomes = [(job, exc, None) for job in batch]
        else:
            self.units += len(batch)
            self.commits += 1
            for observe in self._observers:
                observe(len(batch))
            for loop, listener in self._listeners:
                with contextlib.suppress(RuntimeError):  # the loop closed
                    loop.call_soon_threadsafe(listener)
        by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
        for outcome in outcomes:
            by_loop.setdefault(outcome[0].loop, []).append(outcome)
        for loop, settled in by_loop.items():
            with contextlib.suppress(RuntimeError):  # the loop closed while callers waited
                loop.call_soon_threadsafe(settle, settled)

    def _run_rows(self, conn: sqlite3.Connection, jobs: list[_Job]) -> list[_Outcome]:
        """Row writes of many units merged into one executemany per statement.

        This keeps the writer thread in SQLite's C code instead of the
        interpreter, so it hardly competes with the event loop for the GIL. If
        the merged write fails, the units are replayed one by one so only the
        culprit fails."""
        merged: dict[str, list[tuple[Any, ...]]] = {}
        for job in jobs:
            assert isinstance(job.work, RowWrites)
            for sql, rows in job.work.statements:
                merged.setdefault(sql, []).extend(rows)
        conn.execute("SAVEPOINT merged")
        try:
            for sql, rows in merged.items():
                conn.executemany(sql, rows)
        except Exception:
            conn.execute("ROLLBACK TO merged")
            conn.execute("RELEASE merged")
            return [self._run_one(conn, job) for job in jobs]
        conn.execute("RELEASE merged")
        return [(job, None, None) for job in jobs]

    def _run_one(self, conn: sqlite3.Connection, job: _Job) -> _Outcome:
        conn.execute("SAVEPOINT unit")
        try:
            if isinstance(job.work, RowWrites):
                for sql, rows in job.work.statements:
                    conn.executemany(sql, rows)
                value = None
            else:
                value = job.work(conn)
        except Exception as exc:
            conn.execute("ROLLBACK TO unit")
            conn.execute("RELEASE unit")
            return (job, exc, None)
        conn.execute("RELEASE unit")
        return (job, None, value)
