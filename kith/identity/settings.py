"""The identity settings (merge keys), stored as one configuration document."""

from __future__ import annotations

import msgspec

from kith.config_documents import ConfigDocuments, DerivedConfig
from kith.domain.errors import InvalidPayload
from kith.identity.merge_keys import IdentitySettings, validate_settings
from kith.storage.ports import Document

SETTINGS_ID = "identity"


def _decode(documents: dict[str, Document]) -> IdentitySettings:
    document = documents.get(SETTINGS_ID) or {}
    fields = {key: value for key, value in document.items() if key != "id"}
    return msgspec.convert(fields, IdentitySettings)


class IdentitySettingsStore:
    def __init__(self, documents: ConfigDocuments) -> None:
        self._documents = documents
        self._settings = DerivedConfig(documents, _decode)

    async def current(self) -> IdentitySettings:
        return await self._settings.get()

    async def replace(self, settings: IdentitySettings) -> IdentitySettings:
        problems = validate_settings(settings)
        if problems:
            raise InvalidPayload(
                [
                    {"loc": ["body", *loc], "msg": msg, "type": "value_error"}
                    for loc, msg in problems
                ]
            )
        await self._documents.put(SETTINGS_ID, msgspec.to_builtins(settings))
        return settings
