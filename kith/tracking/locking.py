"""The profile and identity-key locks one request holds, taken in a fixed order.

Order: the session lock (held by the caller), then profile locks in sorted id
order, then identity-key locks in sorted order. A request that finds it needs
one more profile releases every profile and key lock it holds and takes the
whole set again in order: nobody ever waits for a lock while holding one that
sorts after it, so merges cannot deadlock."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AsyncExitStack

from kith.domain.errors import Overloaded
from kith.storage.ports import Storage

_MAX_ROUNDS = 8


class HeldLocks:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._stack = AsyncExitStack()
        self.profiles: frozenset[str] = frozenset()
        self.known: dict[str, bool] = {}
        """Whether each id resolved to a profile when last looked up (after locking,
        for the ids that were locked as themselves), so callers need not ask again."""

    async def _current(self, profile_id: str) -> str:
        found = await self._storage.tracking.resolve_profile_id(profile_id)
        self.known[profile_id] = found is not None
        return found or profile_id

    async def hold_profiles(self, wanted: Iterable[str]) -> dict[str, str]:
        """Lock the profiles `wanted` now resolve to; return {wanted id: current id}.

        A profile merged away between resolving and locking is noticed after
        locking (its id then resolves elsewhere) and the round is repeated."""
        wanted = set(wanted)
        for _ in range(_MAX_ROUNDS):
            await self.release()
            current = {pid: await self._current(pid) for pid in wanted}
            targets = sorted(set(current.values()))
            for target in targets:
                await self._stack.enter_async_context(self._storage.locks.hold("profile", target))
            if all([await self._current(target) == target for target in targets]):
                self.profiles = frozenset(targets)
                return current
        await self.release()
        raise Overloaded("These profiles are being merged right now; retry shortly")

    async def hold_keys(self, keys: Iterable[tuple[str, str]]) -> None:
        for kind, value in sorted(set(keys)):
            await self._stack.enter_async_context(
                self._storage.locks.hold("identity", f"{kind}\x00{value}")
            )

    async def release(self) -> None:
        await self._stack.aclose()
        self._stack = AsyncExitStack()
        self.profiles = frozenset()
