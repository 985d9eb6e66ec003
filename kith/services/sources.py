"""Event sources as a service: CRUD for the admin API, and the cache the collector reads.

The collector looks a source up on every request, so sources are cached in
process for `source_cache_ttl` seconds; every change made through this service
drops the entry at once (other processes see it when their entry expires)."""

from __future__ import annotations

import time

from kith.domain.errors import NotFound
from kith.domain.source import Source
from kith.storage.ports import Page, Storage

_MAX_CACHED = 10_000


class SourceRegistry:
    def __init__(self, storage: Storage, ttl: float) -> None:
        self._storage = storage
        self._ttl = ttl
        self._cache: dict[str, tuple[float, Source | None]] = {}

    async def cached(self, source_id: str) -> Source | None:
        """The source, from the cache when fresh (unknown ids are cached too)."""
        now = time.monotonic()
        hit = self._cache.get(source_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        source = await self._storage.sources.get(source_id)
        if len(self._cache) >= _MAX_CACHED:
            self._cache.clear()
        self._cache[source_id] = (now + self._ttl, source)
        return source

    def invalidate(self, source_id: str) -> None:
        self._cache.pop(source_id, None)

    async def get(self, source_id: str) -> Source:
        source = await self._storage.sources.get(source_id)
        if source is None:
            raise NotFound(f"Source {source_id!r} not found")
        return source

    async def page(self, cursor: str | None, limit: int) -> Page[Source]:
        return await self._storage.sources.page(cursor, limit)

    async def create(self, source: Source) -> Source:
        await self._storage.sources.insert(source)
        self.invalidate(source.id)
        return source

    async def replace(self, source: Source) -> Source:
        if not await self._storage.sources.replace(source):
            raise NotFound(f"Source {source.id!r} not found")
        self.invalidate(source.id)
        return source

    async def delete(self, source_id: str) -> None:
        if not await self._storage.sources.delete(source_id):
            raise NotFound(f"Source {source_id!r} not found")
        self.invalidate(source_id)
