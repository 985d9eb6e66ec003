"""The identity settings (merge keys and their rules), stored as one configuration document."""

from __future__ import annotations

from typing import Any

import msgspec

from kith.config_documents import ConfigDocuments, DerivedConfig
from kith.domain.errors import InvalidPayload
from kith.identity.merge_keys import IdentitySettings, settings_from_document, validate_settings
from kith.identity.rules import IdentityRules
from kith.storage.ports import Document

SETTINGS_ID = "identity"


def _decode(documents: dict[str, Document]) -> IdentityRules:
    return IdentityRules.of(settings_from_document(documents.get(SETTINGS_ID) or {}))


class IdentitySettingsStore:
    def __init__(self, documents: ConfigDocuments) -> None:
        self._documents = documents
        self._rules = DerivedConfig(documents, _decode)

    async def current(self) -> IdentitySettings:
        return (await self._rules.get()).settings

    async def rules(self) -> IdentityRules:
        """The settings compiled for the collector (built once per change)."""
        return await self._rules.get()

    async def replace(self, document: dict[str, Any]) -> IdentitySettings:
        """Store settings given in today's shape or the old `merge_keys` one.

        Problems are 422s located where the client put them (`merge_keys` for the
        old shape)."""
        legacy = "merge_keys" in document and "keys" not in document
        try:
            settings = settings_from_document(document)
        except msgspec.ValidationError as exc:
            raise InvalidPayload(
                [{"loc": ["body"], "msg": str(exc), "type": "value_error"}]
            ) from None
        if settings.phone_region is not None:
            settings.phone_region = settings.phone_region.upper()
        for key in settings.keys:
            key.path = key.path.strip()
        problems = validate_settings(settings)
        if problems:
            raise InvalidPayload(
                [
                    {
                        "loc": ["body", *_located(loc, legacy)],
                        "msg": msg,
                        "type": "value_error",
                    }
                    for loc, msg in problems
                ]
            )
        await self._documents.put(SETTINGS_ID, msgspec.to_builtins(settings))
        return settings


def _located(loc: tuple[str | int, ...], legacy: bool) -> tuple[str | int, ...]:
    return ("merge_keys", *loc[1:]) if legacy and loc[:1] == ("keys",) else loc
