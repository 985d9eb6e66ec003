"""Which profile a payload belongs to: API.md's resolution table, as one function.

Called with the session lock held and before the profile lock is taken; the
caller loads the profile only once it holds the profile lock."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kith.domain.ids import new_id
from kith.domain.source import Source
from kith.storage.ports import Document, Storage


@dataclass(slots=True, frozen=True)
class ProfileChoice:
    id: str
    minted: bool
    """True for an id generated just now: nobody else can know it yet, so there
    is nothing to load and no one to lock out."""


async def choose_profile(
    storage: Storage,
    session: Document | None,
    given_id: str | None,
    source: Source,
    mint: str | None = None,
    resolved: Mapping[str, str | None] | None = None,
) -> ProfileChoice:
    """`mint`: the id a new profile takes, fixed earlier by Kith itself (async storage
    answers with it before processing); by default a fresh one. `resolved`: ids this
    request already resolved (None: unknown), not asked again."""
    known = resolved or {}

    async def resolve(any_id: str) -> str | None:
        if any_id in known:
            return known[any_id]
        return await storage.tracking.resolve_profile_id(any_id)

    bound = (session or {}).get("profile") or {}
    if bound.get("id"):
        # a known session decides, whatever the payload says; a merged id
        # resolves to the survivor
        survivor = await resolve(bound["id"])
        return ProfileChoice(survivor or str(bound["id"]), minted=False)
    if given_id:
        found = await resolve(given_id)
        if found is not None:
            return ProfileChoice(found, minted=False)
        if source.static_profile_id:
            return ProfileChoice(given_id, minted=False)
    # a client cannot choose ids: an unknown id gets a fresh profile
    if mint:
        # fixed before: a run of the same payload again may have created it already,
        # so it is locked and loaded like any known id
        return ProfileChoice(mint, minted=False)
    return ProfileChoice(new_id(), minted=True)
