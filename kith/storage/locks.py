"""In-process keyed locks for the embedded engine.

The collector takes the session lock, then the profile lock, around every read
that leads to a write; one process owns a SQLite file, so asyncio locks keyed
by id are enough. Entries are dropped when nobody holds or waits for them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class _Entry:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class KeyedLocks:
    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], _Entry] = {}

    @asynccontextmanager
    async def hold(self, scope: str, key: str) -> AsyncIterator[None]:
        name = (scope, key)
        entry = self._entries.get(name)
        if entry is None:
            entry = self._entries[name] = _Entry()
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._entries[name]

    def __len__(self) -> int:
        return len(self._entries)
