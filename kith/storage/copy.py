"""Copying one store into another through the storage port (`kith migrate --from --to`).

Going through the port rather than table dumps means any engine can be copied
into any other, and every row lands exactly as the target engine writes it
(its own ids, indexes and partitions). Configuration first, then people."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

from kith.config import Settings
from kith.domain.errors import Conflict
from kith.domain.source import Source
from kith.storage import open_storage
from kith.storage.ports import DataTable, IdentityRow, Storage, VisitUnit

Table = Literal["sources", "keys", "configuration", "profiles", "identities", "sessions", "events"]
TABLES: tuple[Table, ...] = (
    "sources",
    "keys",
    "configuration",
    "profiles",
    "identities",
    "sessions",
    "events",
)
_PAGE = 1000


@dataclass(slots=True)
class StoreReader:
    storage: Storage

    async def count(self, table: Table) -> int:
        if table == "profiles" or table == "sessions" or table == "events":
            return await self.storage.erasure.count_rows(table, None, None)
        if table == "sources":
            return sum([len(page) async for page in _source_pages(self.storage)])
        if table == "keys":
            return len(await self.storage.api_keys.all())
        if table == "configuration":
            return sum(
                [
                    len(await self.storage.config.all(kind))
                    for kind in await self.storage.config.kinds()
                ]
            )
        return sum([len(rows) async for rows in _identity_pages(self.storage)])


async def _source_pages(storage: Storage) -> AsyncIterator[list[Source]]:
    cursor: str | None = None
    while True:
        page = await storage.sources.page(cursor, _PAGE)
        yield page.items
        if page.next is None:
            return
        cursor = page.next


async def _identity_pages(storage: Storage) -> AsyncIterator[list[IdentityRow]]:
    """The identity index in key order, a page at a time."""
    after: tuple[str, str] | None = None
    while rows := await storage.tracking.identity_page(after, _PAGE):
        yield rows
        after = (rows[-1][0], rows[-1][1])


@asynccontextmanager
async def open_pair(
    source: Settings, target: Settings
) -> AsyncIterator[tuple[StoreReader, Storage]]:
    reader, writer = open_storage(source), open_storage(target)
    await reader.start()
    try:
        await writer.start()
        try:
            yield StoreReader(reader), writer
        finally:
            await writer.close()
    finally:
        await reader.close()


async def copy_table(
    reader: StoreReader, target: Storage, table: Table, advance: Callable[[int], object]
) -> int:
    """Copy one table; rows already in the target are replaced (a rerun is harmless)."""
    source = reader.storage
    if table == "sources":
        return await _copy_sources(source, target, advance)
    if table == "keys":
        keys = await source.api_keys.all()
        for key in keys:
            with contextlib.suppress(Conflict):  # the same key is there already
                await target.api_keys.insert(key)
            advance(1)
        return len(keys)
    if table == "configuration":
        copied = 0
        for kind in await source.config.kinds():
            for document in await source.config.all(kind):
                await target.config.put(kind, str(document["id"]), document)
                copied += 1
                advance(1)
        return copied
    if table == "identities":
        return await _copy_identities(source, target, advance)
    return await _copy_documents(source, target, table, advance)


async def _copy_sources(source: Storage, target: Storage, advance: Callable[[int], object]) -> int:
    copied = 0
    async for items in _source_pages(source):
        for item in items:
            if not await target.sources.replace(item):
                await target.sources.insert(item)
        copied += len(items)
        advance(len(items))
    return copied


async def _copy_identities(
    source: Storage, target: Storage, advance: Callable[[int], object]
) -> int:
    copied = 0
    async for rows in _identity_pages(source):
        await target.tracking.commit_visit(VisitUnit(identities=list(rows)))
        copied += len(rows)
        advance(len(rows))
    return copied


async def _copy_documents(
    source: Storage, target: Storage, table: DataTable, advance: Callable[[int], object]
) -> int:
    """Profiles, sessions or events, oldest first, a page at a time."""
    copied = 0
    cursor: str | None = None
    while True:
        page = await source.erasure.export_page(table, None, None, cursor, _PAGE)
        if table == "events":
            await target.tracking.commit_visit(VisitUnit(events=page.items))
        else:
            # one unit per document, submitted together: the writer commits the page
            # in one transaction instead of one per row
            units = [
                VisitUnit(profile=doc) if table == "profiles" else VisitUnit(session=doc)
                for doc in page.items
            ]
            await asyncio.gather(*(target.tracking.commit_visit(unit) for unit in units))
        copied += len(page.items)
        advance(len(page.items))
        if page.next is None:
            return copied
        cursor = page.next
