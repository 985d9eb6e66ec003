"""Batch work over every profile, as jobs: segment refreshes and trait back-fills.

A walk goes through the profiles in id order, a page at a time. Each page is
first judged without locks; only the profiles whose membership (or trait) must
change are then updated: locked together, read again, judged again and
committed in one group commit (`ProfileUpdates.update_many`), so the collector
waits for a profile at most that one commit. The last
id of each finished page is the job's resume point."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from kith.domain import computed
from kith.domain.clock import iso, micros, utcnow
from kith.domain.document import Document
from kith.domain.segment import manual_segments
from kith.jobs import JobContext
from kith.segments.catalog import Definitions, Segment, SegmentCatalog
from kith.segments.live import segment_events
from kith.segments.traits import refresh_values, states
from kith.storage.ports import EventFilter, Job, Storage
from kith.tracking.updates import Change, ChangeFn, ProfileUpdates

PAGE = 2000
REFRESH_KIND = "segment-refresh"
BACKFILL_KIND = "computed-trait-backfill"
Clock = Callable[[], datetime]


def _targets(definitions: Definitions, wanted: list[str] | None) -> tuple[list[Segment], set[str]]:
    """The condition segments to evaluate and every segment id the refresh decides on
    (a wanted id with no enabled condition keeps its manual members only)."""
    if wanted is None:
        return definitions.segments, {segment.id for segment in definitions.segments}
    return [s for s in definitions.segments if s.id in wanted], set(wanted)


def _membership(
    profile: Document, segments: list[Segment], ids: set[str], now: datetime
) -> set[str]:
    """The profile's segments among `ids`, as they should be now."""
    scope = {"profile": profile}
    members = {segment for segment in manual_segments(dict(profile)) if segment in ids}
    for segment in segments:
        assert segment.condition is not None
        if segment.id not in members and segment.condition.evaluate(scope, now=now):
            members.add(segment.id)
    return members


class ProfileWalk:
    """A job kind that visits every profile and fixes what is no longer true."""

    kind = REFRESH_KIND

    def __init__(
        self,
        storage: Storage,
        catalog: SegmentCatalog,
        updates: ProfileUpdates,
        *,
        clock: Clock = utcnow,
        page: int = PAGE,
    ) -> None:
        self._storage = storage
        self._catalog = catalog
        self._updates = updates
        self._clock = clock
        self._page = page
        self.checked = 0
        self.changed = 0
        """Profiles looked at and profiles found stale, by this process (for metrics)."""

    async def run(self, job: Job, context: JobContext) -> None:
        """`params`: `segments` (ids; null: every segment) and `traits` (age windowed
        computed traits too)."""
        wanted = job.params.get("segments")
        with_traits = bool(job.params.get("traits"))
        after = str(job.state.get("after") or "")
        done = int(job.state.get("done") or 0)
        await context.progress(total=await self._storage.profiles.count(), done=done, force=True)
        while page := await self._storage.profiles.page(after, self._page):
            definitions = await self._catalog.current()
            segments, ids = _targets(definitions, wanted)
            now = self._clock()
            stale = [
                profile["id"]
                for profile in page
                if self._stale(profile, definitions, segments, ids, now, with_traits)
            ]
            if stale:
                fix = self._fix(definitions, segments, ids, now, with_traits)
                await self._updates.update_many(stale, fix)
            self.checked += len(page)
            self.changed += len(stale)
            after = str(page[-1]["id"])
            done += len(page)
            await context.progress(done=done, state={"after": after, "done": done})
        await context.progress(done=done, state={"after": after, "done": done}, force=True)

    def _stale(
        self,
        profile: Document,
        definitions: Definitions,
        segments: list[Segment],
        ids: set[str],
        now: datetime,
        with_traits: bool,
    ) -> bool:
        if with_traits and definitions.traits:
            before = dict(profile.get("computed") or {})
            refresh_values(profile, definitions, micros(now))
            if profile.get("computed") != before:
                return True
        current = {s for s in profile.get("segments") or [] if s in ids}
        return current != _membership(profile, segments, ids, now)

    def _fix(
        self,
        definitions: Definitions,
        segments: list[Segment],
        ids: set[str],
        now: datetime,
        with_traits: bool,
    ) -> ChangeFn:
        """The change that makes a stale profile true, judged again on its fresh read."""

        async def change(profile: Document, session: Document | None) -> Change:
            done = Change()
            if with_traits and definitions.traits:
                before = dict(profile.get("computed") or {})
                refresh_values(profile, definitions, micros(now))
                done.profile = profile.get("computed") != before
            present = list(profile.get("segments") or [])
            members = _membership(profile, segments, ids, now)
            kept = [s for s in present if s not in ids or s in members]
            entered = sorted(members - set(present))
            left = [s for s in present if s in ids and s not in members]
            if entered or left:
                profile["segments"] = sorted({*kept, *entered})
                done.profile = True
                done.events = segment_events(
                    entered, left, now=iso(now), session=None, profile_id=profile["id"],
                    request={"headers": {}, "ip": None},
                )  # fmt: skip
            return done

        return change


class TraitBackfill:
    """A job kind that computes one computed trait for every profile from its stored
    events (a new or changed trait counts the past too)."""

    kind = BACKFILL_KIND

    def __init__(
        self,
        storage: Storage,
        catalog: SegmentCatalog,
        updates: ProfileUpdates,
        *,
        clock: Clock = utcnow,
        page: int = 500,
    ) -> None:
        self._storage = storage
        self._catalog = catalog
        self._updates = updates
        self._clock = clock
        self._page = page

    async def run(self, job: Job, context: JobContext) -> None:
        trait_id = str(job.params["trait"])
        after = str(job.state.get("after") or "")
        done = int(job.state.get("done") or 0)
        await context.progress(total=await self._storage.profiles.count(), done=done, force=True)
        while page := await self._storage.profiles.page(after, self._page):
            definitions = await self._catalog.current()
            trait = next((t for t in definitions.traits if t.id == trait_id), None)
            if trait is None:
                return  # deleted meanwhile
            await asyncio.gather(*(self._compute(str(p["id"]), trait, definitions) for p in page))
            after = str(page[-1]["id"])
            done += len(page)
            await context.progress(done=done, state={"after": after, "done": done})

    async def _compute(
        self, profile_id: str, trait: computed.TraitDefinition, definitions: Definitions
    ) -> None:
        now = self._clock()
        since = None
        if trait.window is not None:
            since = datetime.fromtimestamp(micros(now) / 1e6 - trait.window, now.tzinfo)

        async def change(profile: Document, session: Document | None) -> Change:
            # read under the profile's lock: no event of the person is stored meanwhile,
            # so none is counted twice or missed
            state: Document = {}
            where = EventFilter(profile=profile["id"], type=trait.event_type, from_=since)
            for event in sorted(await self._events(where), key=computed.event_time):
                computed.apply(state, trait, event)
            held = states(profile)
            if held.get(trait.id) == state and trait.id in (profile.get("computed") or {}):
                return Change()
            held[trait.id] = state
            refresh_values(profile, definitions, micros(now))
            return Change(profile=True)

        await self._updates.update(profile_id, change)

    async def _events(self, where: EventFilter) -> list[Document]:
        events: list[Document] = []
        cursor: str | None = None
        while True:
            found = await self._storage.data.list_events(where, cursor, 1000)
            events += found.items
            if found.next is None:
                return events
            cursor = found.next
