"""Configuration documents read on the hot path, cached per process.

Event types, consent types and identity settings change rarely and are read on
every request, so each kind is held in memory as one dict and reloaded after
`ttl` seconds. A change made through this process drops the cache at once;
other processes see it when their copy expires."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from kith.storage.ports import Document, Storage

T = TypeVar("T")


class ConfigDocuments:
    def __init__(self, storage: Storage, kind: str, ttl: float) -> None:
        self._storage = storage
        self.kind = kind
        self._ttl = ttl
        self._documents: dict[str, Document] = {}
        self._expires = 0.0
        self._loading: asyncio.Future[None] | None = None
        self._generation = 0
        self.version = 0
        """Bumped whenever a reload may have changed the documents, so that users
        of the documents can keep derived (compiled) forms until it moves."""

    async def all(self) -> dict[str, Document]:
        if time.monotonic() >= self._expires:
            if self._loading is None:
                # one reload at a time; concurrent requests wait for it, not repeat it
                self._loading = asyncio.ensure_future(self._reload())
            loading = self._loading
            try:
                await asyncio.shield(loading)
            finally:
                if self._loading is loading and loading.done():
                    self._loading = None
        return self._documents

    async def _reload(self) -> None:
        generation = self._generation
        documents = {str(doc["id"]): doc for doc in await self._storage.config.all(self.kind)}
        if documents != self._documents:
            self._documents = documents
            self.version += 1
        if generation == self._generation:  # no change raced this read
            self._expires = time.monotonic() + self._ttl

    async def put(self, key: str, document: Document) -> None:
        await self._storage.config.put(self.kind, key, {**document, "id": key})
        self.invalidate()

    async def delete(self, key: str) -> bool:
        deleted = await self._storage.config.delete(self.kind, key)
        self.invalidate()
        return deleted

    def invalidate(self) -> None:
        """Forget the cache; a load already running may be stale, so the next caller
        starts a new one."""
        self._expires = 0.0
        self._generation += 1
        self._loading = None


class DerivedConfig(Generic[T]):
    """A value built from one kind's documents (decoded, compiled), rebuilt only when
    a reload actually changed them, so the hot path reuses the built form."""

    def __init__(
        self, documents: ConfigDocuments, build: Callable[[dict[str, Document]], T]
    ) -> None:
        self._documents = documents
        self._build = build
        self._built: tuple[int, T] | None = None

    async def get(self) -> T:
        documents = await self._documents.all()
        if self._built is None or self._built[0] != self._documents.version:
            self._built = (self._documents.version, self._build(documents))
        return self._built[1]
