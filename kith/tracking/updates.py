"""Changing a profile outside a collector request: async flows, back-office updates.

The same rules as the pipeline: the profile lock is held while the profile is
read, changed and committed; merge-key values the change gives the profile are
claimed, and a value another profile owns merges the two, taking both locks in
order (see `locking`, `identity_claims`). When more locks are needed the change
is made again on a fresh read, so `change` must be safe to run more than once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from kith.domain.clock import iso, utcnow
from kith.domain.errors import Overloaded
from kith.domain.profile import touch
from kith.identity.rules import gained_keys
from kith.storage.ports import Document, Storage, VisitUnit
from kith.tracking.identity_claims import IdentityClaims
from kith.tracking.locking import HeldLocks
from kith.tracking.plan import Plan, TrackResult
from kith.tracking.profile_changes import ProfileChanges
from kith.tracking.stored import StoredEvents

_MAX_ATTEMPTS = 8


@dataclass(slots=True)
class Change:
    """What a change did: whether the profile (and the session) changed, and events
    to store with it (their `profile` is set to the survivor's id)."""

    profile: bool = False
    session: bool = False
    events: list[Document] = field(default_factory=list)


ChangeFn = Callable[[Document, Document | None], Awaitable[Change]]


class ProfileUpdates:
    def __init__(
        self,
        storage: Storage,
        claims: IdentityClaims,
        changes: ProfileChanges,
        stored: StoredEvents | None = None,
    ) -> None:
        self._storage = storage
        self._claims = claims
        self._changes = changes
        self._stored = stored

    async def update(
        self, profile_id: str, change: ChangeFn, *, session_id: str | None = None
    ) -> Document | None:
        """Run `change` on the current profile (merged ids resolve) under its lock and
        commit what it changed; the profile as committed, or None if there is none."""
        tracking = self._storage.tracking
        held = HeldLocks(self._storage)
        try:
            current = (await held.hold_profiles([profile_id]))[profile_id]
            for _ in range(_MAX_ATTEMPTS):
                profile = await tracking.get_profile(current)
                if profile is None:
                    return None
                session = await tracking.get_session(session_id) if session_id else None
                rules = await self._changes.identity_rules()
                before = set(rules.key_values(profile))
                done = await change(profile, session)
                if not (done.profile or done.session or done.events):
                    return profile
                now = iso(utcnow())
                touch(profile, now)
                unit = VisitUnit(
                    profile=profile,
                    session=session if done.session else None,
                    events=done.events,
                )
                gained = gained_keys(before, profile, rules)
                result = TrackResult(profile_id=current, session_id=session_id, event_ids=[])
                plan = Plan(unit, result, profile, gained.claims, now, {}, True, True, rules)
                plan.blocked = gained.blocked
                wanted = await self._claims.settle(plan, held)
                if wanted is None:
                    await tracking.commit_visit(plan.unit)
                    if self._stored is not None:
                        self._stored.count(plan.unit.events)
                    return plan.unit.profile
                current = (await held.hold_profiles({current, *wanted}))[current]
        finally:
            await held.release()
        raise Overloaded("The profiles of this person are changing right now; retry shortly")

    async def update_many(self, profile_ids: list[str], change: ChangeFn) -> None:
        """`update` for many profiles, for batch work: their locks are taken together
        (in order), every profile is read before any is written, and what changed is
        committed in one group commit. Per profile that saves the writer a unit of
        its own, and the reads a page cache emptied by each commit in between. A
        change that gives a profile new merge keys is made again on its own by
        `update` (claims may merge profiles), after the other locks are released."""
        tracking = self._storage.tracking
        held = HeldLocks(self._storage)
        alone: list[str] = []
        try:
            current = await held.hold_profiles(profile_ids)
            rules = await self._changes.identity_rules()
            now = iso(utcnow())
            units: list[VisitUnit] = []
            profiles = await tracking.get_profiles(sorted(set(current.values())))
            for profile_id, profile in sorted(profiles.items()):
                before = set(rules.key_values(profile))
                done = await change(profile, None)
                if not (done.profile or done.events):
                    continue
                gained = gained_keys(before, profile, rules)
                if gained.claims or gained.blocked:
                    alone.append(profile_id)
                    continue
                touch(profile, now)
                units.append(VisitUnit(profile=profile, events=done.events))
            if units:
                await tracking.commit_visits(units)
            if self._stored is not None:
                self._stored.count([event for unit in units for event in unit.events])
        finally:
            await held.release()
        for profile_id in alone:
            await self.update(profile_id, change)
