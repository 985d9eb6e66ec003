"""Background jobs: the store's claims and leases, the runner, resuming from state."""

from __future__ import annotations

import asyncio
import time

from kith.domain.clock import iso, utcnow
from kith.domain.ids import new_id
from kith.jobs import JobContext, JobRunner, JobService
from kith.storage.ports import Job, Storage


def new_job(kind: str = "count", key: str | None = None, **params: object) -> Job:
    return Job(id=new_id(), kind=kind, params=dict(params), key=key, created=iso(utcnow()))


class Count:
    """Counts to `params.to`, saving `{"next": n}` as it goes; can be told to stall."""

    kind = "count"

    def __init__(self) -> None:
        self.seen: list[int] = []
        self.stall_at: int | None = None

    async def run(self, job: Job, context: JobContext) -> None:
        to = int(job.params["to"])
        await context.progress(total=to)
        for n in range(int(job.state.get("next", 0)), to):
            if n == self.stall_at:
                await asyncio.sleep(3600)
            self.seen.append(n)
            await context.progress(done=n + 1, state={"next": n + 1}, force=True)


class Broken:
    kind = "broken"

    async def run(self, job: Job, context: JobContext) -> None:
        raise ValueError("no such segment")


async def test_claims_take_the_oldest_queued_job_once(storage: Storage) -> None:
    jobs = storage.jobs
    first, second = new_job(), new_job()
    await jobs.create(first)
    await jobs.create(second)
    claimed = await jobs.claim("a", ["count"], 30)
    assert claimed is not None and claimed.id == first.id and claimed.status == "running"
    again = await jobs.claim("b", ["count"], 30)
    assert again is not None and again.id == second.id
    assert await jobs.claim("c", ["count"], 30) is None
    assert await jobs.claim("c", ["other"], 30) is None


async def test_a_key_names_one_active_job(storage: Storage) -> None:
    jobs = storage.jobs
    one = await jobs.create(new_job(key="segment:vip"))
    same = await jobs.create(new_job(key="segment:vip"))
    assert same.id == one.id
    claimed = await jobs.claim("a", ["count"], 30)
    assert claimed is not None
    claimed.status = "done"
    await jobs.finish(claimed)
    fresh = await jobs.create(new_job(key="segment:vip"))
    assert fresh.id != one.id


async def test_an_expired_lease_is_taken_over_and_the_old_owner_is_told(
    storage: Storage,
) -> None:
    jobs = storage.jobs
    await jobs.create(new_job())
    mine = await jobs.claim("a", ["count"], 0.2)
    assert mine is not None
    assert await jobs.claim("b", ["count"], 30) is None
    await asyncio.sleep(0.3)
    theirs = await jobs.claim("b", ["count"], 30)
    assert theirs is not None and theirs.id == mine.id
    mine.done = 5
    assert not await jobs.progress(mine, 30)
    theirs.done = 7
    assert await jobs.progress(theirs, 30)
    stored = await jobs.get(mine.id)
    assert stored is not None and stored.done == 7 and stored.owner == "b"


async def test_the_runner_runs_jobs_with_progress_and_records_failures(
    storage: Storage,
) -> None:
    count = Count()
    runner = JobRunner(storage.jobs, [count, Broken()], poll=0.05, lease=5)
    service = JobService(storage.jobs, runner.wake)
    runner.start()
    try:
        ok = await service.queue("count", {"to": 5})
        bad = await service.queue("broken")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            done = await service.get(ok.id)
            failed = await service.get(bad.id)
            if done.status == "done" and failed.status == "failed":
                break
            await asyncio.sleep(0.05)
    finally:
        await runner.stop()
    assert (done.status, done.done, done.total) == ("done", 5, 5)
    assert done.started and done.finished and done.error is None
    assert failed.status == "failed" and failed.error == "ValueError: no such segment"
    assert count.seen == [0, 1, 2, 3, 4]
    page = await service.page(None, 1)
    assert len(page.items) == 1 and page.next is not None


async def test_a_stopped_job_resumes_from_its_saved_state(storage: Storage) -> None:
    count = Count()
    count.stall_at = 3
    runner = JobRunner(storage.jobs, [count], poll=0.05, lease=5)
    service = JobService(storage.jobs, runner.wake)
    runner.start()
    job = await service.queue("count", {"to": 6})
    deadline = time.monotonic() + 10
    while (await service.get(job.id)).done < 3 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await runner.stop()  # a clean stop puts the job back with its state
    assert (await service.get(job.id)).status == "queued"
    resumed = Count()
    runner = JobRunner(storage.jobs, [resumed], poll=0.05, lease=5)
    runner.start()
    try:
        while (await service.get(job.id)).status != "done" and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        await runner.stop()
    assert count.seen == [0, 1, 2] and resumed.seen == [3, 4, 5]
    assert (await service.get(job.id)).done == 6
