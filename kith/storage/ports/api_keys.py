"""Admin API keys (hashes only)."""

from __future__ import annotations

from typing import Protocol

from kith.domain.apikey import ApiKey


class ApiKeyStore(Protocol):
    async def get(self, key_id: str) -> ApiKey | None: ...
    async def all(self) -> list[ApiKey]: ...
    async def insert(self, key: ApiKey) -> None:
        """Raises `Conflict` when the id is taken."""
        ...

    async def delete(self, key_id: str) -> bool: ...
    async def has_admin(self) -> bool: ...
