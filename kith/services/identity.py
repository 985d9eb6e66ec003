"""The identity index of a person, and back-office merges.

A back-office merge is the merge the collector would make, asked for by a person
instead of found in an event: the same identity rules (`merge_refusals`), the
same locks (`HeldLocks`: every profile in sorted order, so it cannot deadlock
with collector requests merging the same people), the same survivor (the
oldest), and the same unit of work (sessions, events and index entries move to
the survivor, one `profile-merged` event). Unlike the collector, it merges all
the profiles asked for or none: a refusal is answered 409, after the
`merge-refused` events are stored on the profile that asked."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from kith.domain.clock import iso, utcnow
from kith.domain.errors import Conflict, InvalidPayload, NotFound
from kith.domain.event import SYSTEM_MERGE_REFUSED, SYSTEM_PROFILE_MERGED
from kith.domain.merge import merge_profiles
from kith.identity.counters import IdentityCounters
from kith.identity.decisions import Refusal, merge_refusals
from kith.identity.rules import IdentityRules
from kith.identity.settings import IdentitySettingsStore
from kith.storage.cursor import decode_cursor, encode_cursor
from kith.storage.ports import Document, Page, Storage, VisitUnit
from kith.tracking.event_records import system_event
from kith.tracking.locking import HeldLocks
from kith.tracking.plan import MergeStep, Plan, TrackResult
from kith.tracking.stored import StoredEvents

log = logging.getLogger(__name__)
_REQUEST: Document = {"headers": {}, "ip": None}
"""System events of the admin API carry no collector request."""


@dataclass(slots=True, frozen=True)
class MergeResult:
    profile: Document
    """The survivor after the merge."""
    merged: list[str]
    """The ids of the profiles folded into it (empty when they were one already)."""


def _refusal_text(refusal: Refusal, rules: IdentityRules) -> str:
    if refusal.rule == "max_profiles_per_merge":
        return f"one merge may join at most {rules.max_profiles} profiles"
    return f"{refusal.key} allows {rules.limit(refusal.key or '')} value(s) per profile"


class IdentityService:
    def __init__(
        self,
        storage: Storage,
        settings: IdentitySettingsStore,
        counters: IdentityCounters,
        steps: list[MergeStep] | None = None,
        stored: StoredEvents | None = None,
    ) -> None:
        self._storage = storage
        self._settings = settings
        self._counters = counters
        self._stored = stored
        self._steps = steps if steps is not None else []
        """What a collector merge also does (computed traits, segments): the same here."""

    async def _current(self, any_id: str) -> str:
        key = any_id.strip()
        current = await self._storage.tracking.resolve_profile_id(key) or key
        if await self._storage.tracking.get_profile(current) is None:
            raise NotFound(f"Profile {any_id!r} not found")
        return current

    async def identities(self, any_id: str, cursor: str | None, limit: int) -> Page[Document]:
        """Every id and key value resolving to the person, in (kind, value) order,
        with when and by which event each was claimed."""
        current = await self._current(any_id)
        after: tuple[str, str] | None = None
        if cursor is not None:
            kind, value = decode_cursor(cursor, 2)
            if not isinstance(kind, str) or not isinstance(value, str):
                raise InvalidPayload.at(["query", "cursor"], "Invalid cursor")
            after = (kind, value)
        rows = await self._storage.tracking.profile_identities(current, after, limit + 1)
        items: list[Document] = [
            {"kind": row.kind, "value": row.value, "claimed": row.claimed, "event": row.event}
            for row in rows[:limit]
        ]
        more = len(rows) > limit
        return Page(
            items, encode_cursor(rows[limit - 1].kind, rows[limit - 1].value) if more else None
        )

    async def merge(self, any_id: str, ids: list[str]) -> MergeResult:
        """Merge the profiles `ids` resolve to with the one `any_id` resolves to."""
        target = await self._current(any_id)
        wanted = [await self._current(other) for other in ids]
        held = HeldLocks(self._storage)
        try:
            current = await held.hold_profiles({target, *wanted})
            asking = current[target]
            others = list(dict.fromkeys(current[w] for w in wanted if current[w] != asking))
            tracking = self._storage.tracking
            docs = [await tracking.get_profile(pid) for pid in [asking, *others]]
            profiles = [doc for doc in docs if doc is not None]
            if len(profiles) != len(docs):
                raise NotFound("A profile was erased meanwhile")
            if not others:
                return MergeResult(profiles[0], [])
            rules = await self._settings.rules()
            owned = await tracking.owned_keys([asking, *others])
            now = iso(utcnow())
            refusals = merge_refusals(asking, others, owned, rules)
            if refusals:
                await self._refuse(asking, refusals, rules, now)
            outcome = merge_profiles(profiles, now)
            event = system_event(
                SYSTEM_PROFILE_MERGED,
                {"merged": outcome.merged_ids},
                now=now,
                session=None,
                profile_id=outcome.profile["id"],
                request=_REQUEST,
            )
            unit = VisitUnit(profile=outcome.profile, events=[event], merged=outcome.merged_ids)
            if self._steps:
                result = TrackResult(
                    profile_id=outcome.profile["id"], session_id=None, event_ids=[]
                )
                plan = Plan(unit, result, outcome.profile, [], now, _REQUEST, True, True, rules)
                for step in self._steps:
                    await step.after_merge(plan, profiles)
            await tracking.commit_visit(unit)
            self._counted(unit.events)
            self._counters.merged()
            return MergeResult(outcome.profile, outcome.merged_ids)
        finally:
            await held.release()

    def _counted(self, events: list[Document]) -> None:
        if self._stored is not None:
            self._stored.count(events)

    async def _refuse(
        self, asking: str, refusals: list[Refusal], rules: IdentityRules, now: str
    ) -> None:
        events = []
        for refusal in refusals:
            log.warning("merge refused: key %s, rule %s", refusal.key, refusal.rule)
            self._counters.refuse(refusal.rule)
            events.append(
                system_event(
                    SYSTEM_MERGE_REFUSED,
                    refusal.properties(),
                    now=now,
                    session=None,
                    profile_id=asking,
                    request=_REQUEST,
                )
            )
        await self._storage.tracking.commit_visit(VisitUnit(events=events))
        self._counted(events)
        raise Conflict(
            [
                {"profile": r.profile, "key": r.key, "rule": r.rule, "msg": _refusal_text(r, rules)}
                for r in refusals
            ]
        )
