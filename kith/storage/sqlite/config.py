"""Configuration documents on the embedded engine."""

from __future__ import annotations

import sqlite3

import orjson

from kith.storage.ports import Document
from kith.storage.sqlite.core import SQLiteCore, text


class SQLiteConfig:
    def __init__(self, core: SQLiteCore) -> None:
        self._core = core

    async def all(self, kind: str) -> list[Document]:
        def query(conn: sqlite3.Connection) -> list[tuple[str]]:
            return conn.execute(
                "SELECT doc FROM config_docs WHERE kind = ? ORDER BY id", (kind,)
            ).fetchall()

        return [orjson.loads(row[0]) for row in await self._core.read(query)]

    async def kinds(self) -> list[str]:
        def query(conn: sqlite3.Connection) -> list[tuple[str]]:
            return conn.execute("SELECT DISTINCT kind FROM config_docs ORDER BY kind").fetchall()

        return [str(row[0]) for row in await self._core.read(query)]

    async def put(self, kind: str, key: str, document: Document) -> None:
        doc = text(document)
        await self._core.writer.submit(
            lambda conn: conn.execute(
                "INSERT INTO config_docs (kind, id, doc) VALUES (?, ?, ?)"
                " ON CONFLICT (kind, id) DO UPDATE SET doc = excluded.doc",
                (kind, key, doc),
            )
        )

    async def delete(self, kind: str, key: str) -> bool:
        return await self._core.writer.submit(
            lambda conn: (
                conn.execute(
                    "DELETE FROM config_docs WHERE kind = ? AND id = ?", (kind, key)
                ).rowcount
                > 0
            )
        )
