"""Keyed locks serialise holders of one key and forget keys nobody holds."""

from __future__ import annotations

import asyncio

from kith.storage.locks import KeyedLocks


async def test_one_key_is_held_by_one_holder_at_a_time_and_then_forgotten() -> None:
    locks = KeyedLocks()
    inside = 0
    most = 0

    async def hold(scope: str, key: str) -> None:
        nonlocal inside, most
        async with locks.hold(scope, key):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.001)
            inside -= 1

    await asyncio.gather(*(hold("session", "s1") for _ in range(20)))
    assert most == 1
    assert len(locks) == 0  # no entry left behind for a key nobody holds

    await asyncio.gather(hold("session", "a"), hold("profile", "a"), hold("session", "b"))
    assert len(locks) == 0
