"""Locks that hold across processes and machines: PostgreSQL advisory locks.

Each request (asyncio task) borrows one pooled connection for all the locks it
holds and gives it back when it holds none. A lock is first taken in process
(so requests of one process queue in memory, not in the database), then as a
session-level advisory lock on a 64-bit hash of scope and key. Session-level,
not transaction-scoped, because the merge protocol releases profile locks and
takes a larger set while keeping the session lock; if the process dies, its
connections close and PostgreSQL releases every lock they held.

The connection is borrowed *before* the in-process lock is taken: a task waiting
for a connection then holds no lock, so no connection holder can be queued on an
in-process lock whose holder waits for a connection (with every connection lent
to such tasks, that stalled the process). Pool connections are given back
without a reset (a round trip): every lock taken is unlocked, and a connection
whose lock or unlock did not complete (an error, a cancelled wait) is closed
instead, which releases whatever it held."""

from __future__ import annotations

import contextvars
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg

from kith.storage.locks import KeyedLocks


@dataclass(slots=True)
class _Borrowed:
    conn: asyncpg.Connection


def lock_number(name: str) -> int:
    """A signed 64-bit number for an advisory lock, the same in every process.

    Hashed here rather than by PostgreSQL so that any id, whatever characters it
    holds, names a lock; two names sharing a number only serialise needlessly."""
    digest = hashlib.blake2b(name.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def _advisory(conn: asyncpg.Connection, statement: str, number: int) -> None:
    try:
        await conn.execute(statement, number)
    except BaseException:
        conn.terminate()  # whether it holds the lock is unknown: closing releases it
        raise


class AdvisoryLocks:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._local = KeyedLocks()
        self._borrowed: contextvars.ContextVar[_Borrowed | None] = contextvars.ContextVar(
            "kith_lock_connection", default=None
        )

    @asynccontextmanager
    async def hold(self, scope: str, key: str) -> AsyncIterator[None]:
        number = lock_number(f"{scope}:{key}")
        borrowed = self._borrowed.get()
        owner = borrowed is None
        if borrowed is None:
            borrowed = _Borrowed(await self._pool.acquire())
            self._borrowed.set(borrowed)
        try:
            async with self._local.hold(scope, key):
                await _advisory(borrowed.conn, "SELECT pg_advisory_lock($1)", number)
                try:
                    yield
                finally:
                    await _advisory(borrowed.conn, "SELECT pg_advisory_unlock($1)", number)
        finally:
            if owner:
                self._borrowed.set(None)
                await self._pool.release(borrowed.conn)

    def __len__(self) -> int:
        return len(self._local)
