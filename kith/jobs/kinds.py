"""What a kind of job is, and what it is given to report progress.

A kind's `run` does the work from `job.state` (empty on a fresh start, the last
saved resume point after a restart) and calls `context.progress(...)` as it
goes; that saves the resume point and renews the lease. Work between two
progress reports may run twice after a crash, so it must be idempotent."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from kith.domain.document import Document
from kith.storage.ports import Job, JobStore


class JobLost(Exception):
    """Another process took the job over (this one stalled past its lease): stop."""


class JobKind(Protocol):
    @property
    def kind(self) -> str: ...

    async def run(self, job: Job, context: JobContext) -> None: ...


Listener = Callable[[Job], None]


class JobContext:
    """Progress reports for one running job, saved at most every `every` seconds."""

    def __init__(
        self,
        store: JobStore,
        job: Job,
        *,
        lease: float,
        every: float = 0.5,
        listener: Listener | None = None,
    ) -> None:
        self._store = store
        self._job = job
        self._lease = lease
        self._every = every
        self._saved = 0.0
        self._listener = listener

    async def progress(
        self,
        *,
        done: int | None = None,
        total: int | None = None,
        state: Document | None = None,
        force: bool = False,
    ) -> None:
        job = self._job
        if done is not None:
            job.done = done
        if total is not None:
            job.total = total
        if state is not None:
            job.state = state
        if self._listener is not None:
            self._listener(job)
        now = time.monotonic()
        if not force and now - self._saved < self._every:
            return
        self._saved = now
        if not await self._store.progress(job, self._lease):
            raise JobLost(f"job {job.id} was taken over by another process")
