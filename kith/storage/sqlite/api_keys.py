"""Admin API keys on the embedded engine."""

from __future__ import annotations

import sqlite3

from kith.domain.access import Role
from kith.domain.apikey import ApiKey
from kith.domain.errors import Conflict
from kith.storage.sqlite.core import SQLiteCore

_COLUMNS = "id, role, name, secret_hash, created"


def _key(row: tuple[str, str, str, str, str]) -> ApiKey:
    return ApiKey(id=row[0], role=Role(row[1]), name=row[2], secret_hash=row[3], created=row[4])


class SQLiteApiKeys:
    def __init__(self, core: SQLiteCore) -> None:
        self._core = core

    async def get(self, key_id: str) -> ApiKey | None:
        row = self._core.hot.execute(
            f"SELECT {_COLUMNS} FROM api_keys WHERE id = ?", (key_id,)
        ).fetchone()
        return _key(row) if row else None

    async def all(self) -> list[ApiKey]:
        def query(conn: sqlite3.Connection) -> list[tuple[str, str, str, str, str]]:
            return conn.execute(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created, id").fetchall()

        return [_key(row) for row in await self._core.read(query)]

    async def insert(self, key: ApiKey) -> None:
        def work(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    f"INSERT INTO api_keys ({_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                    (key.id, key.role.value, key.name, key.secret_hash, key.created),
                )
            except sqlite3.IntegrityError:
                raise Conflict(f"Key {key.id!r} already exists") from None

        await self._core.writer.submit(work)

    async def delete(self, key_id: str) -> bool:
        return await self._core.writer.submit(
            lambda conn: conn.execute("DELETE FROM api_keys WHERE id = ?", (key_id,)).rowcount > 0
        )

    async def has_admin(self) -> bool:
        row = self._core.hot.execute(
            "SELECT 1 FROM api_keys WHERE role = 'admin' LIMIT 1"
        ).fetchone()
        return row is not None
