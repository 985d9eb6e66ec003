"""Configuration documents on PostgreSQL; every change is announced to the other
processes (NOTIFY in the same transaction), which drop their cached copies."""

from __future__ import annotations

import asyncpg

from kith.storage.ports import Document
from kith.storage.postgres.core import PgCore, affected, notify


class PgConfig:
    def __init__(self, core: PgCore) -> None:
        self._core = core

    async def all(self, kind: str) -> list[Document]:
        rows = await self._core.pool.fetch(
            "SELECT doc FROM config_docs WHERE kind = $1 ORDER BY id", kind
        )
        return [row[0] for row in rows]

    async def kinds(self) -> list[str]:
        rows = await self._core.pool.fetch("SELECT DISTINCT kind FROM config_docs ORDER BY kind")
        return [str(row[0]) for row in rows]

    async def put(self, kind: str, key: str, document: Document) -> None:
        async def work(conn: asyncpg.Connection) -> None:
            await conn.execute(
                "INSERT INTO config_docs (kind, id, doc) VALUES ($1, $2, $3)"
                " ON CONFLICT (kind, id) DO UPDATE SET doc = excluded.doc",
                kind,
                key,
                document,
            )
            await notify(conn, kind, key)

        await self._core.writer.submit(work)

    async def delete(self, kind: str, key: str) -> bool:
        async def work(conn: asyncpg.Connection) -> bool:
            status = await conn.execute(
                "DELETE FROM config_docs WHERE kind = $1 AND id = $2", kind, key
            )
            await notify(conn, kind, key)
            return affected(status) > 0

        return bool(await self._core.writer.submit(work))
