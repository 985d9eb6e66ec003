"""The identity settings (merge keys), stored as one configuration document."""

from __future__ import annotations

import msgspec

from kith.configuration import ConfigDocuments
from kith.domain.errors import InvalidPayload
from kith.identity.keys import IdentitySettings, validate_settings

SETTINGS_ID = "identity"


class IdentitySettingsStore:
    def __init__(self, documents: ConfigDocuments) -> None:
        self._documents = documents
        self._cached: tuple[int, IdentitySettings] | None = None

    async def current(self) -> IdentitySettings:
        documents = await self._documents.all()
        if self._cached is None or self._cached[0] != self._documents.version:
            document = documents.get(SETTINGS_ID)
            fields = {k: v for k, v in (document or {}).items() if k != "id"}
            self._cached = (self._documents.version, msgspec.convert(fields, IdentitySettings))
        return self._cached[1]

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
