"""Configuration documents by kind and id: event types, consent types, settings, and
the resources that later capabilities add (rules, flows, segments, destinations ...)."""

from __future__ import annotations

from typing import Protocol

from kith.storage.ports.common import Document


class ConfigStore(Protocol):
    async def all(self, kind: str) -> list[Document]:
        """Every document of `kind`, in id order."""
        ...

    async def kinds(self) -> list[str]:
        """Every kind that has a document (copying a store copies them all)."""
        ...

    async def put(self, kind: str, key: str, document: Document) -> None: ...
    async def delete(self, kind: str, key: str) -> bool: ...
