"""People: finding a profile by any of its ids, its timeline, erasing and exporting it.

Erasing takes the profile lock, so a collector request for the person either
lands before (and is erased with it) or after (and starts a new profile)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace

import orjson

from kith.domain.clock import iso, utcnow
from kith.domain.consent import effective_consents
from kith.domain.errors import NotFound
from kith.storage.ports import (
    Document,
    Erased,
    EventFilter,
    Page,
    ProfileQuery,
    SessionFilter,
    Storage,
)
from kith.tracking.consent_types import ConsentTypeRegistry

EXPORT_PAGE = 1000


class ProfileService:
    def __init__(
        self,
        storage: Storage,
        consent_types: ConsentTypeRegistry,
        present: Callable[[Document], Awaitable[None]] | None = None,
    ) -> None:
        self._storage = storage
        self._consent_types = consent_types
        self._present = present
        """Brings a profile up to date for showing (windowed computed traits)."""

    async def current_id(self, any_id: str) -> str:
        """The id of the profile `any_id` resolves to (merged ids too); NotFound if none."""
        key = any_id.strip()
        current = await self._storage.tracking.resolve_profile_id(key) or key
        if await self._storage.tracking.get_profile(current) is None:
            raise NotFound(f"Profile {any_id!r} not found")
        return current

    async def resolve(self, any_id: str) -> str:
        """Like `current_id`, but an unknown id is kept as given (filters on it find nothing)."""
        key = any_id.strip()
        return await self._storage.tracking.resolve_profile_id(key) or key

    async def get(self, any_id: str) -> Document:
        """The profile, consents read as they stand now: an expired grant reads as not
        granted, and a consent type's default applies where the person never decided."""
        key = any_id.strip()
        current = await self._storage.tracking.resolve_profile_id(key) or key
        profile = await self._storage.tracking.get_profile(current)
        if profile is None:
            raise NotFound(f"Profile {any_id!r} not found")
        profile["consents"] = effective_consents(
            profile, iso(utcnow()), await self._consent_types.all()
        )
        if self._present is not None:
            await self._present(profile)
        return profile

    async def search(self, where: ProfileQuery, cursor: str | None, limit: int) -> Page[Document]:
        return await self._storage.data.search_profiles(where, cursor, limit)

    async def events(
        self, any_id: str, where: EventFilter, cursor: str | None, limit: int
    ) -> Page[Document]:
        current = await self.current_id(any_id)
        where = replace(where, profile=current)
        return await self._storage.data.list_events(where, cursor, limit)

    async def sessions(self, any_id: str, cursor: str | None, limit: int) -> Page[Document]:
        current = await self.current_id(any_id)
        return await self._storage.data.list_sessions(SessionFilter(profile=current), cursor, limit)

    async def erase(self, any_id: str) -> tuple[str, Erased]:
        """Forget the person: the profile, every id resolving to it, its sessions, its
        events and its identity entries, in one transaction."""
        current = await self.current_id(any_id)
        async with self._storage.locks.hold("profile", current):
            erased = await self._storage.erasure.erase_profile(current)
        if erased is None:
            raise NotFound(f"Profile {any_id!r} not found")
        return current, erased

    async def export(self, any_id: str) -> tuple[str, AsyncIterator[bytes]]:
        """Everything stored about the person as one JSON document, streamed page by
        page so a person with 100,000 events is never held in memory at once:
        `{"exported", "profile", "sessions": [...], "events": [...]}`, newest first."""
        current = await self.current_id(any_id)
        profile = await self._storage.tracking.get_profile(current)
        if profile is None:
            raise NotFound(f"Profile {any_id!r} not found")
        return current, self._export(profile)

    async def _export(self, profile: Document) -> AsyncIterator[bytes]:
        data = self._storage.data
        head = {"exported": iso(utcnow()), "profile": profile}
        yield orjson.dumps(head)[:-1] + b',"sessions":['
        sessions = SessionFilter(profile=profile["id"])
        async for chunk in _pages(lambda c: data.list_sessions(sessions, c, EXPORT_PAGE)):
            yield chunk
        yield b'],"events":['
        events = EventFilter(profile=profile["id"])
        async for chunk in _pages(lambda c: data.list_events(events, c, EXPORT_PAGE)):
            yield chunk
        yield b"]}"


async def _pages(
    fetch: Callable[[str | None], Awaitable[Page[Document]]],
) -> AsyncIterator[bytes]:
    """Every page's items as comma-separated JSON, one chunk per page."""
    cursor: str | None = None
    first = True
    while True:
        page = await fetch(cursor)
        if page.items:
            body = b",".join(orjson.dumps(item) for item in page.items)
            yield body if first else b"," + body
            first = False
        cursor = page.next
        if cursor is None:
            return
