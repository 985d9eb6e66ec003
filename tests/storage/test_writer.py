"""The group-commit writer: shared commits, failure isolation, durable acknowledgement."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from kith.storage.sqlite.core import connect, migrate_file
from kith.storage.sqlite.writer import GroupCommitWriter


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "w.db"
    migrate_file(path)
    return path


def insert(source_id: str):  # type: ignore[no-untyped-def]
    def work(conn: sqlite3.Connection) -> str:
        conn.execute("INSERT INTO sources (id, doc) VALUES (?, '{}')", (source_id,))
        return source_id

    return work


def count(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM sources").fetchone()[0])
    finally:
        conn.close()


async def test_many_concurrent_units_share_few_commits(db: Path) -> None:
    gate = threading.Event()
    writer = GroupCommitWriter(lambda: connect(db))
    writer.start()
    try:
        # hold the writer busy so 500 units pile up behind one slow unit
        blocker = asyncio.ensure_future(writer.submit(lambda conn: gate.wait(5)))
        await asyncio.sleep(0.05)
        units = [asyncio.ensure_future(writer.submit(insert(f"s{i}"))) for i in range(500)]
        await asyncio.sleep(0.05)
        gate.set()
        results = await asyncio.gather(*units)
        await blocker
    finally:
        writer.close()
    assert sorted(results) == sorted(f"s{i}" for i in range(500))
    assert count(db) == 500
    assert writer.units == 501
    assert writer.commits <= 3


async def test_a_failing_unit_fails_alone(db: Path) -> None:
    writer = GroupCommitWriter(lambda: connect(db))
    writer.start()
    gate = threading.Event()

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO sources (id, doc) VALUES ('half', '{}')")
        raise ValueError("boom")

    try:
        blocker = asyncio.ensure_future(writer.submit(lambda conn: gate.wait(5)))
        await asyncio.sleep(0.05)
        good_a = asyncio.ensure_future(writer.submit(insert("a")))
        bad = asyncio.ensure_future(writer.submit(broken))
        good_b = asyncio.ensure_future(writer.submit(insert("b")))
        await asyncio.sleep(0.05)
        gate.set()
        await blocker
        assert await good_a == "a"
        assert await good_b == "b"
        with pytest.raises(ValueError, match="boom"):
            await bad
    finally:
        writer.close()
    assert writer.commits == 2  # the blocker's batch, then a, bad and b together
    conn = sqlite3.connect(db)
    ids = {row[0] for row in conn.execute("SELECT id FROM sources")}
    conn.close()
    assert ids == {"a", "b"}  # the failing unit's own insert was rolled back


async def test_nothing_is_acknowledged_before_commit(db: Path) -> None:
    """A unit's future resolves only after its transaction is visible to others."""
    writer = GroupCommitWriter(lambda: connect(db))
    writer.start()
    seen_at_ack: list[int] = []
    try:
        for i in range(50):
            await writer.submit(insert(f"x{i}"))
            seen_at_ack.append(count(db))
    finally:
        writer.close()
    assert seen_at_ack == list(range(1, 51))


async def test_close_commits_everything_submitted(db: Path) -> None:
    writer = GroupCommitWriter(lambda: connect(db))
    writer.start()
    futures = [asyncio.ensure_future(writer.submit(insert(f"c{i}"))) for i in range(200)]
    await asyncio.sleep(0)  # let every submit enqueue
    await asyncio.to_thread(writer.close)
    await asyncio.gather(*futures)
    assert count(db) == 200


async def test_a_failing_commit_fails_every_unit_of_its_batch(db: Path) -> None:
    writer = GroupCommitWriter(lambda: connect(db))
    writer.start()

    def ends_transaction(conn: sqlite3.Connection) -> None:
        # releasing the savepoint afterwards fails: the whole batch must fail
        conn.execute("COMMIT")

    try:
        with pytest.raises(sqlite3.OperationalError):
            await writer.submit(ends_transaction)
        assert await writer.submit(insert("after")) == "after"
    finally:
        writer.close()
    assert count(db) == 1


async def test_a_full_queue_refuses_instead_of_growing(db: Path) -> None:
    from kith.domain.errors import Overloaded

    gate = threading.Event()
    writer = GroupCommitWriter(lambda: connect(db), max_queue=2)
    writer.start()
    try:
        blocker = asyncio.ensure_future(writer.submit(lambda conn: gate.wait(5)))
        await asyncio.sleep(0.05)  # the writer holds the blocker; the queue is empty
        queued = [asyncio.ensure_future(writer.submit(insert(f"q{i}"))) for i in range(2)]
        await asyncio.sleep(0)
        with pytest.raises(Overloaded):
            await writer.submit(insert("refused"))
        gate.set()
        await blocker
        assert await asyncio.gather(*queued) == ["q0", "q1"]
    finally:
        writer.close()
    assert count(db) == 2
