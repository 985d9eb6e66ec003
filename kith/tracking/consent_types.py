"""Consent types as a cached registry for the collector and a service for the admin API."""

from __future__ import annotations

import msgspec

from kith.config_documents import ConfigDocuments, DerivedConfig
from kith.domain.consent import ConsentType
from kith.domain.errors import NotFound


class ConsentTypeRegistry:
    def __init__(self, documents: ConfigDocuments) -> None:
        self._documents = documents
        self._types = DerivedConfig(
            documents,
            lambda docs: {key: msgspec.convert(doc, ConsentType) for key, doc in docs.items()},
        )

    async def all(self) -> dict[str, ConsentType]:
        return await self._types.get()

    async def get(self, consent_id: str) -> ConsentType:
        found = (await self.all()).get(consent_id)
        if found is None:
            raise NotFound(f"Consent type {consent_id!r} not found")
        return found

    async def put(self, consent: ConsentType) -> ConsentType:
        await self._documents.put(consent.id, msgspec.to_builtins(consent))
        return consent

    async def delete(self, consent_id: str) -> None:
        if not await self._documents.delete(consent_id):
            raise NotFound(f"Consent type {consent_id!r} not found")
