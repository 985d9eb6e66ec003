"""Background jobs: long work with progress, stored so it survives restarts.

A job is claimed with a lease by one process; progress renews the lease and
records a resume point (`state`), so a job whose process died is taken over by
another (or by the same one after a restart) where it left off."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from kith.storage.ports.common import Document, Page

JobStatus = Literal["queued", "running", "done", "failed"]


@dataclass(slots=True)
class Job:
    id: str
    kind: str
    status: JobStatus = "queued"
    done: int = 0
    total: int | None = None
    params: Document = field(default_factory=dict)
    state: Document = field(default_factory=dict)
    """Where to resume: written with each progress report."""
    created: str = ""
    started: str | None = None
    finished: str | None = None
    error: str | None = None
    key: str | None = None
    """Jobs with one key do one thing (refresh segment X): a new one is not queued while
    one with the same key is queued or running."""
    owner: str | None = None
    lease_until: float = 0.0


class JobStore(Protocol):
    async def create(self, job: Job) -> Job:
        """Store a queued job; if `job.key` names a job queued or running, that one."""
        ...

    async def get(self, job_id: str) -> Job | None: ...
    async def latest(self, key: str) -> Job | None:
        """The newest job with this key, whatever its status."""
        ...

    async def counts(self) -> dict[tuple[str, str], int]:
        """How many jobs there are by (kind, status), for metrics."""
        ...

    async def page(self, cursor: str | None, limit: int, kind: str | None) -> Page[Job]:
        """Newest first."""
        ...

    async def claim(self, owner: str, kinds: list[str], lease: float) -> Job | None:
        """The oldest queued job of `kinds`, or a running one whose lease expired, now
        running for `owner` for `lease` seconds (by the store's own clock)."""
        ...

    async def take(self, job_id: str, owner: str, lease: float) -> Job | None:
        """Claim this job for `owner` whoever holds it (the command line resuming work
        whose process it knows is gone); None if there is no such unfinished job."""
        ...

    async def progress(self, job: Job, lease: float) -> bool:
        """Save `done`, `total`, `state` and renew the lease; False if the lease was lost."""
        ...

    async def finish(self, job: Job) -> None:
        """Save the final status (`done` or `failed`), `finished` and `error`."""
        ...


_STORED = ("done", "total", "params", "state", "started", "finished", "error")


def job_document(job: Job) -> Document:
    """The part of a job stored as a document (the rest are columns)."""
    return {name: getattr(job, name) for name in _STORED}


def job_from_row(
    job_id: str,
    kind: str,
    status: str,
    key: str | None,
    created: str,
    owner: str | None,
    lease_until: float,
    document: Document,
) -> Job:
    fields: dict[str, Any] = {name: document[name] for name in _STORED if name in document}
    return Job(
        id=job_id,
        kind=kind,
        status=status,  # type: ignore[arg-type]
        key=key,
        created=created,
        owner=owner,
        lease_until=lease_until,
        **fields,
    )
