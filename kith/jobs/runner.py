"""Runs queued jobs inside `kith serve`: claims one at a time with a lease, runs its
kind, records the outcome. A job whose process died is claimed again once its
lease expires and resumes from its last saved state; on a clean stop the job
in hand is put back in the queue with its state, so the next start resumes it
at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from kith.domain.clock import iso, utcnow
from kith.domain.ids import new_id
from kith.jobs.kinds import JobContext, JobKind, JobLost, Listener
from kith.storage.ports import Job, JobStore

log = logging.getLogger(__name__)


async def run_job(
    store: JobStore, kind: JobKind, job: Job, *, lease: float, listener: Listener | None = None
) -> Job:
    """Run `job` (claimed by the caller) to its end and store the outcome."""
    job.started = job.started or iso(utcnow())
    context = JobContext(store, job, lease=lease, listener=listener)
    try:
        await context.progress(force=True)
        await kind.run(job, context)
    except JobLost:
        log.warning("job %s (%s) was taken over by another process", job.id, job.kind)
        return job
    except asyncio.CancelledError:
        job.status = "queued"  # a clean stop: resume from the saved state next time
        with contextlib.suppress(Exception):
            await asyncio.shield(store.finish(job))
        raise
    except Exception as exc:
        log.exception("job %s (%s) failed", job.id, job.kind)
        job.status, job.error = "failed", f"{type(exc).__name__}: {exc}"
    else:
        job.status = "done"
    job.finished = iso(utcnow())
    await store.finish(job)
    return job


class JobRunner:
    def __init__(
        self,
        store: JobStore,
        kinds: list[JobKind],
        *,
        poll: float = 1.0,
        lease: float = 30.0,
        owner: str | None = None,
    ) -> None:
        self._store = store
        self._kinds = {kind.kind: kind for kind in kinds}
        self._poll = poll
        self._lease = lease
        self.owner = owner or f"jobs-{new_id()}"
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def kind(self, name: str) -> JobKind:
        """The kind that runs jobs of `name` (the command line runs some itself)."""
        return self._kinds[name]

    def start(self) -> None:
        if self._kinds:
            self._task = asyncio.create_task(self._run(), name="kith-jobs")

    def wake(self) -> None:
        """A job was queued in this process: look now rather than at the next poll."""
        self._wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                job = await self._store.claim(self.owner, sorted(self._kinds), self._lease)
            except Exception:
                log.exception("could not claim a job")
                job = None
            if job is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll)
                self._wake.clear()
                continue
            await run_job(self._store, self._kinds[job.kind], job, lease=self._lease)
