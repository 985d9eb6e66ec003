"""The committed-event feed: order, positions, leases, crashes and late commits."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import orjson
import pytest

from kith.config import Settings
from kith.feed import FeedRunner
from kith.storage.ports import START, FeedEntry, FeedPosition, Storage, VisitUnit
from kith.storage.postgres.core import connect
from tests.feed.helpers import commit_events, event_doc


class Collecting:
    name = "collecting"

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.fail_next = 0

    async def handle(self, entries: list[FeedEntry]) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("a transient failure")
        self.seen += [entry.event["id"] for entry in entries]


async def read_all(storage: Storage, after: FeedPosition = START) -> list[FeedEntry]:
    entries: list[FeedEntry] = []
    while batch := await storage.feed.read(after, 7):
        entries += batch
        after = batch[-1].position
    return entries


async def read_visible(storage: Storage, after: FeedPosition, count: int) -> list[FeedEntry]:
    """Read until `count` entries are visible: on PostgreSQL the feed stops behind the
    oldest transaction still running in the database (another test's, say)."""
    deadline = time.monotonic() + 10
    while len(entries := await storage.feed.read(after, 100)) < count:
        assert time.monotonic() < deadline, f"{len(entries)} of {count} entries visible"
        await asyncio.sleep(0.02)
    return entries


async def test_every_committed_event_in_commit_order(storage: Storage) -> None:
    ids = await commit_events(storage, 40, per_unit=3)
    # units committed concurrently share group commits; order is still commit order
    more = await asyncio.gather(*(commit_events(storage, 2) for _ in range(10)))
    await read_visible(storage, START, 60)
    entries = await read_all(storage)
    assert [e.event["id"] for e in entries][:40] == ids
    assert {e.event["id"] for e in entries[40:]} == {i for pair in more for i in pair}
    positions = [e.position for e in entries]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert await storage.feed.head() == positions[-1]


async def test_a_new_consumer_starts_at_the_head_and_keeps_its_position(storage: Storage) -> None:
    await commit_events(storage, 5)
    await read_visible(storage, START, 5)  # the head is past them
    start = await storage.feed.claim("c", "one", 30)
    assert start == await storage.feed.head()
    later = await commit_events(storage, 4)
    entries = await read_visible(storage, start, len(later))
    assert [e.event["id"] for e in entries] == later
    assert await storage.feed.acknowledge("c", "one", entries[1].position)
    assert await storage.feed.claim("c", "one", 30) == entries[1].position
    assert (await storage.feed.positions())["c"] == entries[1].position


async def test_a_live_lease_keeps_others_out_until_released_or_expired(storage: Storage) -> None:
    assert await storage.feed.claim("c", "one", 30) is not None
    assert await storage.feed.claim("c", "two", 30) is None
    assert not await storage.feed.acknowledge("c", "two", FeedPosition(0, 1))
    await storage.feed.release("c", "one")
    assert await storage.feed.claim("c", "two", 0.2) is not None
    assert not await storage.feed.acknowledge("c", "one", FeedPosition(0, 1))
    await asyncio.sleep(0.3)
    assert await storage.feed.claim("c", "one", 30) is not None  # two's lease expired


async def test_an_erased_newest_event_never_gives_its_position_to_a_new_one(
    storage: Storage,
) -> None:
    profile = event_doc(0, profile="p-erased")
    unit = VisitUnit(
        profile={
            "id": "p-erased",
            "ids": ["p-erased"],
            "metadata": {"time": {"update": profile["metadata"]["time"]["insert"]}},
        },
        events=[profile],
    )
    await storage.tracking.commit_visit(unit)
    head = await storage.feed.head()
    assert await storage.erasure.erase_profile("p-erased") is not None
    (after,) = await commit_events(storage, 1)
    (entry,) = await read_visible(storage, head, 1)
    assert entry.event["id"] == after and entry.position > head


async def test_the_runner_delivers_each_event_and_retries_a_failed_batch(
    storage: Storage,
) -> None:
    consumer = Collecting()
    runner = FeedRunner(storage, [consumer], batch=4, poll=0.05, lease=5)
    runner.start()
    try:
        await asyncio.sleep(0.2)  # registered at the head
        ids = await commit_events(storage, 10)
        consumer.fail_next = 1
        ids += await commit_events(storage, 5)
        deadline = time.monotonic() + 10
        while len(set(consumer.seen)) < 15 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        await runner.stop()
    assert set(consumer.seen) == set(ids)
    assert runner.status["collecting"].failures == 1
    first = {i: consumer.seen.index(i) for i in ids}
    assert sorted(ids, key=first.__getitem__) == ids  # first sighting in commit order


class Sometimes(Collecting):
    """Idle (nothing to do, e.g. no async rule deployed) until told otherwise."""

    name = "sometimes"

    def __init__(self) -> None:
        super().__init__()
        self.idle_now = True

    async def idle(self) -> bool:
        return self.idle_now


async def test_an_idle_consumer_moves_to_the_head_without_reading(storage: Storage) -> None:
    consumer = Sometimes()
    runner = FeedRunner(storage, [consumer], batch=4, poll=0.05, lease=5)
    runner.start()
    try:
        await asyncio.sleep(0.2)
        first = await commit_events(storage, 6)
        deadline = time.monotonic() + 10
        # on PostgreSQL the head lags behind any running transaction: wait until the
        # consumer's position is past the last of these six events
        while True:
            assert time.monotonic() < deadline, "the idle consumer never reached the head"
            found = [e.position for e in await read_all(storage) if e.event["id"] == first[-1]]
            at = (await storage.feed.positions()).get("sometimes")
            if found and at is not None and at >= found[0]:
                break
            await asyncio.sleep(0.05)
        assert consumer.seen == []  # skipped, not handled
        consumer.idle_now = False
        later = await commit_events(storage, 3)
        while len(consumer.seen) < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        await runner.stop()
    assert consumer.seen == later  # only what came after it had work


def _spawn(url: str, out: Path, owner: str, lease: float) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.feed.consumer_process", url, str(out), owner, str(lease)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


def _stop(process: subprocess.Popen[str], sig: signal.Signals = signal.SIGTERM) -> int:
    process.send_signal(sig)
    code = process.wait(20)
    if process.stdout is not None:
        process.stdout.close()
    return code


def _handled(out: Path) -> list[tuple[str, str]]:
    if not out.exists():
        return []
    return [(line.split()[0], line.split()[2]) for line in out.read_text().splitlines()]


async def _wait_for(out: Path, count: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while len({event for _, event in _handled(out)}) < count:
        assert time.monotonic() < deadline, f"{len(_handled(out))} of {count} handled"
        await asyncio.sleep(0.05)


def _url(settings: Settings) -> str:
    return settings.storage_url or f"sqlite:{settings.sqlite_path}"


async def test_a_consumer_killed_mid_feed_resumes_without_skipping(
    storage: Storage, store_settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "handled.txt"
    first = _spawn(_url(store_settings), out, "first", 1.0)
    await asyncio.sleep(0.3)
    ids = await commit_events(storage, 300, per_unit=5)
    await _wait_for(out, 60)
    _stop(first, signal.SIGKILL)
    ids += await commit_events(storage, 100, per_unit=5)  # only the second can see these
    second = _spawn(_url(store_settings), out, "second", 1.0)
    try:
        await _wait_for(out, 400)
    finally:
        assert _stop(second) == 0
    handled = _handled(out)
    assert {event for _, event in handled} == set(ids)  # nothing skipped
    assert {owner for owner, _ in handled} == {"first", "second"}


async def test_two_processes_share_one_consumer_without_double_processing(
    storage: Storage, store_settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "handled.txt"
    url = _url(store_settings)
    workers = {name: _spawn(url, out, name, 1.0) for name in ("one", "two")}
    try:
        await asyncio.sleep(0.3)
        ids = await commit_events(storage, 150, per_unit=4)
        await _wait_for(out, 150)
        holder = _handled(out)[-1][0]
        (other,) = {"one", "two"} - {holder}
        # the holder stops cleanly; the other takes over from the acknowledged position
        assert _stop(workers.pop(holder)) == 0
        ids += await commit_events(storage, 150, per_unit=4)
        await _wait_for(out, 300)
    finally:
        for worker in workers.values():
            _stop(worker)
    handled = _handled(out)
    assert sorted(event for _, event in handled) == sorted(ids)  # each once, none twice
    assert {event for owner, event in handled if owner == other} >= set(ids[150:])


@pytest.mark.parametrize("engine", ["postgresql"])
async def test_postgresql_a_late_commit_is_not_skipped(
    storage: Storage, store_settings: Settings
) -> None:
    """A transaction that takes its `seq` first but commits last is still read, after
    the consumer has read the events committed meanwhile."""
    start = await storage.feed.head()
    conn: asyncpg.Connection = await connect(store_settings.storage_url or "")
    late = event_doc(0)
    try:
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute(
            "INSERT INTO events (id, type, source_id, time, status, doc)"
            " VALUES ($1, 'page-view', 'web', 1, 'collected', $2::text::jsonb)",
            late["id"],
            orjson.dumps({"id": late["id"]}).decode(),
        )
        early = await commit_events(storage, 3)
        # the early events are committed, but a consumer must not pass the open one
        assert await storage.feed.read(start, 100) == []
        await transaction.commit()
    finally:
        await conn.close()
    entries = await read_visible(storage, start, 4)
    assert [e.event["id"] for e in entries] == [late["id"], *early]
    # its `seq` is below theirs: a consumer reading by `seq` alone would have passed it
    assert entries[0].position.seq < min(e.position.seq for e in entries[1:])
