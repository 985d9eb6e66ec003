"""Jobs as the API and the command line see them: queue one, read one, list them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from kith.domain.clock import iso, parse_iso, utcnow
from kith.domain.document import Document
from kith.domain.errors import NotFound
from kith.domain.ids import new_id
from kith.jobs.kinds import JobKind, Listener
from kith.jobs.runner import run_job
from kith.storage.ports import Job, JobStore, Page


def job_view(job: Job) -> Document:
    """A job as the API answers it (API.md section 6)."""
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "done": job.done,
        "total": job.total,
        "created": job.created,
        "started": job.started,
        "finished": job.finished,
        "error": job.error,
        "params": job.params,
    }


class JobService:
    def __init__(self, store: JobStore, queued: Callable[[], None] | None = None) -> None:
        self._store = store
        self._queued = queued

    async def queue(
        self,
        kind: str,
        params: Document | None = None,
        *,
        key: str | None = None,
        total: int | None = None,
    ) -> Job:
        """Queue a job; with `key`, the job already queued or running for it, if any."""
        job = Job(
            id=new_id(),
            kind=kind,
            params=params or {},
            key=key,
            created=iso(utcnow()),
            total=total,
        )
        stored = await self._store.create(job)
        if self._queued is not None:
            self._queued()
        return stored

    async def every(
        self, kind: str, params: Document, *, key: str, seconds: float, now: datetime
    ) -> Job | None:
        """Queue a job unless one with `key` was created less than `seconds` ago; the
        new job, or None. Scheduled work uses it, so several processes running the
        same schedule queue it about once."""
        latest = await self._store.latest(key)
        if latest is not None and (now - parse_iso(latest.created)).total_seconds() < seconds:
            return None
        return await self.queue(kind, params, key=key)

    async def get(self, job_id: str) -> Job:
        job = await self._store.get(job_id)
        if job is None:
            raise NotFound(f"Job {job_id!r} not found")
        return job

    async def page(self, cursor: str | None, limit: int, kind: str | None = None) -> Page[Job]:
        return await self._store.page(cursor, limit, kind)

    async def unfinished(self, kind: str, match: Callable[[Job], bool]) -> Job | None:
        """The newest queued or running job of `kind` that `match` accepts."""
        cursor: str | None = None
        while True:
            page = await self._store.page(cursor, 200, kind)
            for job in page.items:
                if job.status in ("queued", "running") and match(job):
                    return job
            if page.next is None:
                return None
            cursor = page.next

    async def run_here(
        self, job: Job, kind: JobKind, *, lease: float, listener: Listener | None = None
    ) -> Job:
        """Run `job` in this process (the command line's own work), taking it over from
        whoever held it: the caller knows that process is gone."""
        taken = await self._store.take(job.id, f"cli-{new_id()}", lease)
        if taken is None:
            raise NotFound(f"Job {job.id!r} is not waiting to run")
        return await run_job(self._store, kind, taken, lease=lease, listener=listener)
