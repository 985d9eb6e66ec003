"""Which profile a payload belongs to: API.md's resolution table, as one function.

Called with the session lock held and before the profile lock is taken; the
caller loads the profile only once it holds the profile lock."""

from __future__ import annotations

from kith.domain.ids import new_id
from kith.domain.source import Source
from kith.storage.ports import Document, Storage


async def choose_profile_id(
    storage: Storage, session: Document | None, given_id: str | None, source: Source
) -> str:
    bound = (session or {}).get("profile") or {}
    if bound.get("id"):
        # a known session decides, whatever the payload says; a merged id
        # resolves to the survivor
        return await storage.resolve_profile_id(bound["id"]) or str(bound["id"])
    if given_id:
        found = await storage.resolve_profile_id(given_id)
        if found is not None:
            return found
        if source.static_profile_id:
            return given_id
    # a client cannot choose ids: an unknown id gets a fresh profile
    return new_id()
