"""Admin API keys on PostgreSQL. Keys are read from the table on every request,
never cached, so no change needs announcing."""

from __future__ import annotations

import asyncpg

from kith.domain.access import Role
from kith.domain.apikey import ApiKey
from kith.domain.errors import Conflict
from kith.storage.postgres.core import PgCore, affected

_COLUMNS = "id, role, name, secret_hash, created"


def _key(row: asyncpg.Record) -> ApiKey:
    return ApiKey(id=row[0], role=Role(row[1]), name=row[2], secret_hash=row[3], created=row[4])


class PgApiKeys:
    def __init__(self, core: PgCore) -> None:
        self._core = core

    async def get(self, key_id: str) -> ApiKey | None:
        row = await self._core.pool.fetchrow(
            f"SELECT {_COLUMNS} FROM api_keys WHERE id = $1", key_id
        )
        return _key(row) if row else None

    async def all(self) -> list[ApiKey]:
        rows = await self._core.pool.fetch(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created, id")
        return [_key(row) for row in rows]

    async def insert(self, key: ApiKey) -> None:
        async def work(conn: asyncpg.Connection) -> None:
            try:
                await conn.execute(
                    f"INSERT INTO api_keys ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5)",
                    key.id,
                    key.role.value,
                    key.name,
                    key.secret_hash,
                    key.created,
                )
            except asyncpg.UniqueViolationError:
                raise Conflict(f"Key {key.id!r} already exists") from None

        await self._core.writer.submit(work)

    async def delete(self, key_id: str) -> bool:
        status = await self._core.writer.submit(
            lambda conn: conn.execute("DELETE FROM api_keys WHERE id = $1", key_id)
        )
        return affected(status) > 0

    async def has_admin(self) -> bool:
        return bool(
            await self._core.pool.fetchval(
                "SELECT EXISTS (SELECT 1 FROM api_keys WHERE role = 'admin')"
            )
        )
