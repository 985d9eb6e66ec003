"""Advisory locks on PostgreSQL: a task never waits for a connection while holding a lock."""

from __future__ import annotations

import asyncio
import uuid

from kith.storage.postgres.core import open_pool
from kith.storage.postgres.locks import AdvisoryLocks
from tests.postgres import SERVER


async def test_a_lock_holder_never_waits_for_a_connection_held_by_its_waiters() -> None:
    """One connection: Y holds it (for its session lock) and then wants profile p;
    X wants only p. Taking p in process before borrowing the connection let X hold p
    while waiting for Y's connection, and Y wait for p: both stalled for ever."""
    pool = await open_pool(f"{SERVER}/test", min_size=1, max_size=1)
    locks = AdvisoryLocks(pool)
    session, profile = f"s-{uuid.uuid4()}", f"p-{uuid.uuid4()}"
    y_holds_session = asyncio.Event()
    order: list[str] = []

    async def y() -> None:
        async with locks.hold("session", session):
            y_holds_session.set()
            await asyncio.sleep(0.2)  # X is now waiting, for p or for the connection
            async with locks.hold("profile", profile):
                order.append("y")

    async def x() -> None:
        await y_holds_session.wait()
        async with locks.hold("profile", profile):
            order.append("x")

    try:
        await asyncio.wait_for(asyncio.gather(y(), x()), timeout=10)
    finally:
        await pool.close()
    assert order == ["y", "x"]
    assert len(locks) == 0


async def test_a_cancelled_wait_leaves_no_advisory_lock_behind() -> None:
    pool = await open_pool(f"{SERVER}/test", min_size=1, max_size=2)
    locks = AdvisoryLocks(pool)
    key = f"k-{uuid.uuid4()}"
    inside = asyncio.Event()
    leave = asyncio.Event()

    async def holder() -> None:
        async with locks.hold("session", key):
            inside.set()
            await leave.wait()

    async def waiter() -> None:
        async with locks.hold("session", key):
            pass

    try:
        first = asyncio.create_task(holder())
        await inside.wait()
        # another process's wait, in the database: the in-process lock is not taken here
        other = AdvisoryLocks(pool)
        blocked = asyncio.create_task(other.hold("session", key).__aenter__())
        await asyncio.sleep(0.2)
        blocked.cancel()
        await asyncio.gather(blocked, return_exceptions=True)
        leave.set()
        await first
        # the cancelled waiter's connection was closed, so nothing of it holds the lock
        await asyncio.wait_for(waiter(), timeout=5)
    finally:
        await pool.close()
