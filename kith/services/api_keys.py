"""API keys as a service: create (the plain key is returned once), list, revoke,
authenticate. Only hashes are stored; secrets are compared in constant time."""

from __future__ import annotations

import logging

from kith.domain.access import Role
from kith.domain.apikey import ApiKey, key_from_value, key_parts, new_key_material, secret_matches
from kith.domain.clock import iso, utcnow
from kith.domain.errors import Conflict, NotFound
from kith.storage.ports import Storage

log = logging.getLogger(__name__)


class KeyService:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def create(self, role: Role, name: str = "") -> tuple[ApiKey, str]:
        key_id, plain, secret_hash = new_key_material()
        key = ApiKey(
            id=key_id, role=role, name=name, secret_hash=secret_hash, created=iso(utcnow())
        )
        await self._storage.api_keys.insert(key)
        return key, plain

    async def bootstrap(self, value: str | None) -> ApiKey | None:
        """Make `value` an admin key if set and no admin key exists yet."""
        if not value or await self._storage.api_keys.has_admin():
            return None
        key_id, _, secret_hash = key_from_value(value)
        key = ApiKey(
            id=key_id,
            role=Role.admin,
            name="bootstrap",
            secret_hash=secret_hash,
            created=iso(utcnow()),
        )
        try:
            await self._storage.api_keys.insert(key)
        except Conflict:  # another worker process created it at the same moment
            return None
        log.info("bootstrap admin key %s created", key_id)
        return key

    async def list(self) -> list[ApiKey]:
        return await self._storage.api_keys.all()

    async def revoke(self, key_id: str) -> None:
        if not await self._storage.api_keys.delete(key_id):
            raise NotFound(f"Key {key_id!r} not found")

    async def authenticate(self, presented: str) -> ApiKey | None:
        key_id, secret = key_parts(presented)
        key = await self._storage.api_keys.get(key_id)
        if key is None or not secret_matches(secret, key.secret_hash):
            return None
        return key
