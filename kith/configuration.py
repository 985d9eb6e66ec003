"""Configuration documents read on the hot path, cached per process.

Event types, consent types and identity settings change rarely and are read on
every request, so each kind is held in memory as one dict and reloaded after
`ttl` seconds. A change made through this process drops the cache at once;
other processes see it when their copy expires."""

from __future__ import annotations

import time
from typing import Any

from kith.storage.ports import Storage

Document = dict[str, Any]


class ConfigDocuments:
    def __init__(self, storage: Storage, kind: str, ttl: float) -> None:
        self._storage = storage
        self.kind = kind
        self._ttl = ttl
        self._documents: dict[str, Document] = {}
        self._expires = 0.0
        self.version = 0
        """Bumped whenever a reload may have changed the documents, so that users
        of the documents can keep derived (compiled) forms until it moves."""

    async def all(self) -> dict[str, Document]:
        now = time.monotonic()
        if now >= self._expires:
            documents = {str(doc["id"]): doc for doc in await self._storage.list_config(self.kind)}
            if documents != self._documents:
                self._documents = documents
                self.version += 1
            self._expires = now + self._ttl
        return self._documents

    async def put(self, key: str, document: Document) -> None:
        await self._storage.put_config(self.kind, key, {**document, "id": key})
        self.invalidate()

    async def delete(self, key: str) -> bool:
        deleted = await self._storage.delete_config(self.kind, key)
        self.invalidate()
        return deleted

    def invalidate(self) -> None:
        self._expires = 0.0
