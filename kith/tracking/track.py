"""The collector pipeline: one tracker payload in, one committed unit of work out.

Order matters: session lock, then resolve, then profile lock, then load; the
unit is committed before the locks are released, so the next request for the
same visitor or person sees this one's result. When the events give the profile
a merge-key value another profile owns, the request takes both profiles' locks
(see `locking`) and rebuilds its unit as a merge; the merge commits in the same
transaction as the request's own writes.

A first hit skips the locks: when one read (`look_up_visit`) finds neither the
session nor the payload's profile, the profile id is minted here, so nobody else
can lock or write it, and the session is stored with an insert that fails if
another request stored that session id meanwhile (`VisitUnit.new_session`; a
request that read the session as missing under the lock inserts it the same way,
so neither can write over the other). The loser stores nothing and starts again
under the session lock, where it finds the winner's session and profile. So two
first hits of one visitor still make one profile, and a new visitor costs one
read and one commit."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from kith.domain.clock import iso, utcnow
from kith.domain.errors import BotRejected, KithError, Overloaded, UnknownSource
from kith.domain.event import (
    SYSTEM_PROFILE_CREATED,
    SYSTEM_SESSION_OPENED,
    SYSTEM_VISIT_STARTED,
    visible_headers,
)
from kith.domain.external_identity import ExternalIdentity
from kith.domain.ids import new_id
from kith.domain.payload import TrackerPayload
from kith.domain.profile import count_visit, new_profile, touch, visible_profile
from kith.domain.session import bind, merge_into, new_session
from kith.domain.source import Bridge, Source
from kith.identity.counters import IdentityCounters
from kith.identity.merge_keys import ID_KIND
from kith.identity.rules import KeyChanges, gained_keys
from kith.storage.ports import (
    Document,
    IdentityRow,
    SessionTaken,
    Storage,
    VisitLookup,
    VisitUnit,
)
from kith.tracking.enrichment import RequestInfo, SessionEnrichment
from kith.tracking.event_records import event_records
from kith.tracking.external_people import (
    ExternalChoice,
    choose_external_profile,
    continued_session,
    device_lock,
    give_customer_id,
    id_claims,
    remember_visit,
)
from kith.tracking.identity_claims import IdentityClaims
from kith.tracking.locking import HeldLocks
from kith.tracking.plan import (
    MergeStep,
    OnceOnly,
    Plan,
    SourceLookup,
    TrackResult,
    Visit,
    VisitStep,
)
from kith.tracking.profile_changes import ProfileChanges
from kith.tracking.resolve import ProfileChoice, choose_profile
from kith.tracking.stored import StoredEvents
from kith.tracking.updates import ProfileUpdates
from kith.tracking.useragent import parse_user_agent

_MAX_ATTEMPTS = 8


@dataclass(slots=True, frozen=True)
class BatchItem:
    """One payload of a batch, with what its request said."""

    payload: TrackerPayload
    source: Source
    info: RequestInfo
    profile_less: bool = False
    mint: str | None = None
    """The profile id fixed for it earlier (async storage), if any."""


def keys_of(payload: TrackerPayload, person: ExternalIdentity | None) -> list[tuple[str, str]]:
    """The ids a payload's unit of work locks: its session, its profile, and the
    derived ids of the person it comes from."""
    keys = [("session", payload.session.id)] if payload.session and payload.session.id else []
    if payload.profile and payload.profile.id:
        keys.append(("profile", payload.profile.id))
    if person is not None:
        keys.extend(("profile", derived) for derived in person.ids)
    return keys


def chains(keys: list[list[tuple[str, str]]]) -> list[list[int]]:
    """Group batch positions that share a session or profile id, each group in order."""
    parent = list(range(len(keys)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    first: dict[tuple[str, str], int] = {}
    for index, ids in enumerate(keys):
        for key in ids:
            seen = first.setdefault(key, index)
            parent[root(index)] = root(seen)
    groups: dict[int, list[int]] = {}
    for index in range(len(keys)):
        groups.setdefault(root(index), []).append(index)
    return list(groups.values())


def loners(
    keys: list[list[tuple[str, str]]], may_group: Callable[[int], bool] = lambda _: True
) -> tuple[list[int], list[list[int]]]:
    """`chains(keys)` split in two: the positions alone in their chain that `may_group`
    lets join a batch's group (`Tracker.track_group`), and the other chains."""
    single: list[int] = []
    ordered: list[list[int]] = []
    for chain in chains(keys):
        if len(chain) == 1 and may_group(chain[0]):
            single.append(chain[0])
        else:
            ordered.append(chain)
    return single, ordered


def _page_url(page: Any) -> str | None:
    url = page.get("url") if isinstance(page, dict) else None
    return url if isinstance(url, str) else None


def _timezone(context: dict[str, Any]) -> str | None:
    time = context.get("time")
    tz = time.get("tz") if isinstance(time, dict) else None
    return tz if isinstance(tz, str) else None


class Tracker:
    def __init__(
        self,
        storage: Storage,
        sources: SourceLookup,
        enrichment: SessionEnrichment,
        changes: ProfileChanges,
        *,
        reject_bots: bool,
        counters: IdentityCounters,
        steps: list[VisitStep] | None = None,
        stored: StoredEvents | None = None,
    ) -> None:
        self._storage = storage
        self._sources = sources
        self._enrichment = enrichment
        self._changes = changes
        self._reject_bots = reject_bots
        self.merge_steps: list[MergeStep] = []
        self._claims = IdentityClaims(storage, counters, self.merge_steps)
        self.stored = stored
        """Counts what this process committed, for `/metrics` (None: metrics are off)."""
        self.updates = ProfileUpdates(storage, self._claims, changes, stored)
        self.steps: list[VisitStep] = steps if steps is not None else []
        """Run in order after the event types on every request: sync flows, live
        segments, deliveries (they are added by the services that own them)."""

    async def refuse_invalid(self, payload: TrackerPayload, at: list[str | int]) -> None:
        """422 if an event breaks the schema of a type in `reject` mode (see ProfileChanges)."""
        await self._changes.refuse_invalid(payload, at)

    async def source_for(self, source_id: str, bridge: Bridge) -> Source:
        source = await self._sources.cached(source_id)
        if source is None or not source.accepts(bridge):
            raise UnknownSource(f"Unknown or disabled source {source_id!r} for bridge {bridge!r}")
        return source

    async def track(
        self,
        payload: TrackerPayload,
        info: RequestInfo,
        *,
        bridge: Bridge = "rest",
        profile_less: bool = False,
        source: Source | None = None,
        mint: str | None = None,
        person: ExternalIdentity | None = None,
    ) -> TrackResult:
        """`person`: who the payload is from, in ids a bridge derived from another
        system's (see `external_people`); it decides the profile instead of the
        payload's profile id, and, without a session id, the session."""
        if source is None:
            source = await self.source_for(payload.source.id, bridge)
        user_agent = parse_user_agent(self._enrichment.user_agent_of(payload.context, info))
        if self._reject_bots and user_agent.is_bot:
            raise BotRejected("Bots are not accepted")
        first_hit = bool(payload.session and payload.session.id) and person is None and not mint
        for attempt in range(_MAX_ATTEMPTS):
            try:
                return await self._track_once(
                    payload,
                    info,
                    source,
                    profile_less=profile_less,
                    mint=mint,
                    person=person,
                    optimistic=first_hit and attempt == 0,
                )
            except SessionTaken:
                continue  # another request stored this session first: again, locked
        raise Overloaded("This session is being created right now; retry shortly")

    async def _first_look(
        self, payload: TrackerPayload, session_id: str, source: Source, *, profile_less: bool
    ) -> tuple[VisitLookup, ProfileChoice] | None:
        """The look of a first hit, without locks: None unless it is one (no session
        stored, and a profile id to mint), in which case nothing needs locking."""
        given_profile = payload.profile.id if payload.profile and not profile_less else None
        client_ids = [e.id for e in payload.events if e.id] if payload.option("saveEvents") else []
        look = await self._storage.tracking.look_up_visit(session_id, given_profile, client_ids)
        if look.session is not None:
            return None
        resolved = {given_profile: look.profile_id} if given_profile else {}
        choice = await choose_profile(self._storage, None, given_profile, source, resolved=resolved)
        return (look, choice) if profile_less or choice.minted else None

    async def _track_once(
        self,
        payload: TrackerPayload,
        info: RequestInfo,
        source: Source,
        *,
        profile_less: bool,
        mint: str | None,
        person: ExternalIdentity | None,
        optimistic: bool,
    ) -> TrackResult:
        given_session = payload.session.id if payload.session else None
        session_id = given_session or new_id()
        held = HeldLocks(self._storage)
        first = None
        if optimistic and given_session is not None:
            first = await self._first_look(
                payload, given_session, source, profile_less=profile_less
            )
        async with AsyncExitStack() as stack:
            if first is not None:
                pass  # a first hit: nothing to lock (see the module's docstring)
            elif given_session is not None:
                await stack.enter_async_context(self._storage.locks.hold("session", session_id))
            elif person is not None:
                await stack.enter_async_context(
                    self._storage.locks.hold("session", device_lock(person))
                )
            stack.push_async_callback(held.release)
            session = (
                await self._storage.tracking.get_session(given_session)
                if given_session and first is None
                else None
            )
            profile_id: str | None = None
            minted = False
            external: ExternalChoice | None = None
            if person is not None and not profile_less:
                external = await choose_external_profile(self._storage, held, person)
                profile_id = external.profile_id
            elif first is not None:
                profile_id = None if profile_less else first[1].id
                minted = not profile_less
            elif not profile_less:
                given_profile = payload.profile.id if payload.profile else None
                choice = await choose_profile(self._storage, session, given_profile, source, mint)
                profile_id, minted = choice.id, choice.minted
                if not minted:
                    profile_id = (await held.hold_profiles([profile_id]))[profile_id]
            for attempt in range(_MAX_ATTEMPTS):
                if attempt and given_session is not None and first is None:
                    session = await self._storage.tracking.get_session(given_session)
                plan = await self._build(
                    payload,
                    info,
                    source,
                    session_id,
                    session,
                    profile_id,
                    minted,
                    profile_less=profile_less,
                    given_session=given_session is not None,
                    person=person,
                    external=external,
                    known_events=first[0].known_events if first and not attempt else None,
                )
                wanted = await self._claims.settle(plan, held)
                if wanted is None:
                    if plan.store:
                        stored = self.stored
                        tally = stored.tally(plan.unit.events) if stored is not None else None
                        await self._storage.tracking.commit_visit(plan.unit)
                        if stored is not None and tally is not None:
                            stored.add(tally)
                    if payload.option("profile", False):
                        plan.result.profile_document = visible_profile(
                            plan.unit.profile or plan.profile
                        )
                    return plan.result
                assert profile_id is not None
                # a person's derived ids stay locked: others may still create them
                derived = person.ids if person is not None else ()
                current = await held.hold_profiles({profile_id, *wanted, *derived})
                profile_id = current[profile_id]
        # the owners kept changing under us: answer 503 (nothing stored) rather than
        # commit without the claim and leave two profiles sharing one identity
        raise Overloaded("The profiles of this person are changing right now; retry shortly")

    async def track_many(
        self,
        items: list[tuple[TrackerPayload, Source]],
        info: RequestInfo,
        *,
        profile_less: bool,
        people: Sequence[ExternalIdentity | None] | None = None,
        bridge: Bridge = "rest",
    ) -> list[TrackResult]:
        """A batch, answered in payload order, processed as concurrently as order allows.

        Payloads naming the same session or profile (directly or through a chain
        of others, or a person's derived ids) run one after another in batch order.
        Unrelated payloads of no known person are one group (`track_group`): one
        read of their sessions and profiles, their pipelines in memory, one unit of
        work for all; the rest run each as its own request, at the same time as the
        group. `people[i]` is the person payload i is from, if known."""
        persons = list(people) if people is not None else [None] * len(items)
        keys = [
            keys_of(payload, person) for (payload, _), person in zip(items, persons, strict=True)
        ]
        results: list[TrackResult | None] = [None] * len(items)

        async def run(indexes: list[int]) -> None:
            for index in indexes:
                payload, source = items[index]
                results[index] = await self.track(
                    payload,
                    info,
                    bridge=bridge,
                    profile_less=profile_less,
                    source=source,
                    person=persons[index],
                )

        async def group(indexes: list[int]) -> None:
            batch = [BatchItem(*items[index], info, profile_less) for index in indexes]
            done = await self.track_group(batch)
            for index, result in zip(indexes, done, strict=True):
                assert not isinstance(result, KithError)  # raised unless partial
                results[index] = result
            await asyncio.gather(
                *(run([index]) for index, result in zip(indexes, done, strict=True) if not result)
            )

        single, ordered = loners(keys, lambda index: persons[index] is None)
        work = [run(chain) for chain in ordered]
        if len(single) > 1 and await self.groupable():
            work.append(group(single))
        else:
            work.extend(run([index]) for index in single)
        await asyncio.gather(*work)
        return [result for result in results if result is not None]

    async def groupable(self) -> bool:
        """Whether batches may be tracked as one group (`track_group` builds a payload
        that claims identity keys twice): not while a step must run once only."""
        for step in self.steps:
            if isinstance(step, OnceOnly) and not await step.repeatable():
                return False
        return True

    async def track_group(
        self, batch: list[BatchItem], *, partial: bool = False
    ) -> list[TrackResult | KithError | None]:
        """Payloads that share no session or profile id, tracked as one unit of work.

        Every session lock (in id order), one read of the sessions, the profiles
        chosen and locked together (`HeldLocks`), one read of the profiles, each
        pipeline in memory, then one submission to the writer for all the units.
        A payload is left out (None: the caller tracks it on its own, after this
        commit) when its profile is another payload's too (a session bound to it
        in the store) or when it gains identity keys: claims and merges take locks
        of their own, and two payloads of one batch may claim one value (such a
        payload is built twice, as a claim that needs more locks is in `track`, so
        its sync flows run twice; settling claims inside the group, with every
        key locked in one sorted round, would spare that). A payload
        refused (`KithError`, not `Overloaded`) fails the whole group before anything
        is stored, or with `partial` (nobody waits for an answer: async storage) is
        answered with its error while the others are committed."""
        outcome: list[TrackResult | KithError | None] = [None] * len(batch)
        if self._reject_bots:
            for index, item in enumerate(batch):
                agent = self._enrichment.user_agent_of(item.payload.context, item.info)
                if parse_user_agent(agent).is_bot:
                    outcome[index] = BotRejected("Bots are not accepted")
        given = [item.payload.session.id if item.payload.session else None for item in batch]
        locks = self._storage.locks
        tracking = self._storage.tracking
        async with AsyncExitStack() as stack:
            for session_id in sorted({sid for sid in given if sid}):
                await stack.enter_async_context(locks.hold("session", session_id))
            held = HeldLocks(self._storage)
            stack.push_async_callback(held.release)
            sessions = await tracking.get_sessions([sid for sid in given if sid])
            choices: list[tuple[str | None, bool]] = []
            for index, item in enumerate(batch):
                if item.profile_less or outcome[index] is not None:
                    choices.append((None, False))
                    continue
                given_profile = item.payload.profile.id if item.payload.profile else None
                session = sessions.get(given[index] or "")
                choice = await choose_profile(
                    self._storage, session, given_profile, item.source, item.mint
                )
                choices.append((choice.id, choice.minted))
            known = {pid for pid, minted in choices if pid is not None and not minted}
            current = await held.hold_profiles(known) if known else {}
            profiles = await tracking.get_profiles(sorted(set(current.values())))
            taken: set[str] = set()
            plans: list[tuple[int, Plan]] = []
            for index, item in enumerate(batch):
                if outcome[index] is not None:
                    continue
                profile_id, minted = choices[index]
                if profile_id is not None and not minted:
                    profile_id = current[profile_id]
                    if profile_id in taken:
                        continue  # another payload's profile: on its own, after this commit
                    taken.add(profile_id)
                try:
                    plan = await self._build(
                        item.payload,
                        item.info,
                        item.source,
                        given[index] or new_id(),
                        sessions.get(given[index] or ""),
                        profile_id,
                        minted,
                        profile_less=item.profile_less,
                        given_session=given[index] is not None,
                        preloaded=profiles,
                    )
                except Overloaded:
                    raise
                except KithError as error:
                    outcome[index] = error
                    continue
                if plan.claims or plan.blocked:
                    continue  # identity work: on its own, after this commit
                plans.append((index, plan))
            refused = [error for error in outcome if isinstance(error, KithError)]
            if refused and not partial:
                raise refused[0]
            units = [plan.unit for _, plan in plans if plan.store]
            stored = self.stored
            tally = stored.tally([e for unit in units for e in unit.events]) if stored else None
            if units:
                try:
                    await tracking.commit_visits(units)
                except SessionTaken:
                    # a first hit stored one of these sessions without a lock
                    # meanwhile: nothing was stored, each payload starts again alone
                    return [error if isinstance(error, KithError) else None for error in outcome]
            if stored is not None and tally is not None:
                stored.add(tally)
        for index, plan in plans:
            if batch[index].payload.option("profile", False):
                plan.result.profile_document = visible_profile(plan.unit.profile or plan.profile)
            outcome[index] = plan.result
        return outcome

    async def _build(
        self,
        payload: TrackerPayload,
        info: RequestInfo,
        source: Source,
        session_id: str,
        session: Document | None,
        profile_id: str | None,
        minted: bool,
        *,
        profile_less: bool,
        given_session: bool,
        person: ExternalIdentity | None = None,
        external: ExternalChoice | None = None,
        known_events: set[str] | None = None,
        preloaded: dict[str, Document] | None = None,
    ) -> Plan:
        """`preloaded`: the profiles a batch read at once, by id (a missing id is new)."""
        now = iso(utcnow())
        save_session = payload.option("saveSession")
        save_events = payload.option("saveEvents")
        save_profile = payload.option("saveProfile") and not profile_less
        system: list[tuple[str, dict[str, Any]]] = []
        unit = VisitUnit()

        profile: Document | None = None
        if profile_id is not None:
            if minted:
                profile = None
            elif preloaded is not None:
                profile = preloaded.get(profile_id)
            else:
                profile = await self._storage.tracking.get_profile(profile_id)
            if profile is None:
                profile = new_profile(profile_id, now)
                unit.identities.append(IdentityRow(ID_KIND, profile_id, profile_id, now))
                if save_profile:
                    system.append((SYSTEM_PROFILE_CREATED, {}))
        segments_before = list(profile.get("segments") or []) if profile is not None else []
        rules = await self._changes.identity_rules()
        keys_before = set(rules.key_values(profile)) if profile is not None else set()

        # a session the client named and nobody had when this request looked: stored
        # only if still nobody has (see the module's docstring)
        unit.new_session = session is None and given_session and person is None
        if person is not None and profile is not None and save_session and not given_session:
            session_id, session = await continued_session(
                self._storage, profile, person.device, payload, now
            )
            remember_visit(profile, person.device, session_id, payload, now)
            given_session = True  # a visit, not a back-end call

        page = payload.events[0].context.get("page") if payload.events else None
        page = page if isinstance(page, dict) else payload.context.get("page")
        ip = self._enrichment.ip_of(info)
        if save_session:
            if session is None:
                session = new_session(session_id, profile_id, source.channel, now)
                self._enrichment.enrich(session, payload.context, _page_url(page), info, ip)
                system.append((SYSTEM_SESSION_OPENED, {}))
                # a back-end payload without a session is not somebody visiting
                visit = given_session or not source.static_profile_id
                if profile is not None and save_profile and visit:
                    count_visit(profile, now, _timezone(payload.context))
                    system.append((SYSTEM_VISIT_STARTED, {}))
            else:
                session["metadata"]["time"]["update"] = now
                if profile_id is not None:
                    bind(session, profile_id)
            merge_into(session, payload.context, payload.properties)
            if payload.device is not None and payload.device.id:
                session.setdefault("device", {})["id"] = payload.device.id
            unit.session = session
        else:
            session = None

        event_ids, fresh = await self._event_ids(payload, save_events, known_events)
        request = {"headers": visible_headers(dict(info.headers)), "ip": ip}
        records = event_records(
            payload,
            source,
            session,
            profile_id,
            profile_less=profile_less,
            now=now,
            request=request,
            system=system,
            own=[(event_ids[index], index, payload.events[index]) for index in fresh],
        )
        result = TrackResult(
            profile_id=profile_id,
            session_id=session["id"] if session else None,
            event_ids=event_ids,
        )
        mapped = profile if save_profile else None
        await self._changes.apply(records, mapped, session, now, result)
        if self.steps and not source.ephemeral:
            state = Visit(
                records,
                mapped,
                session,
                unit,
                result,
                now,
                request,
                profile_less,
                save_events,
                segments_before,
            )
            for step in self.steps:
                await step.after_events(state)
        if save_events:
            unit.events = [record for _, record in records]
        gained = KeyChanges([], [])
        if profile is not None and save_profile:
            if person is not None:
                give_customer_id(profile, person, event_ids[0] if event_ids else None, now)
            touch(profile, now)
            unit.profile = profile
            gained = gained_keys(keys_before, profile, rules)
            if external is not None:
                gained.claims.extend(id_claims(profile, external))
        else:
            unit.identities.clear()
        if source.ephemeral:
            return Plan(unit, result, None, [], now, request, False, save_events, rules)
        store = bool(unit.profile or unit.session or unit.events)
        plan = Plan(
            unit, result, unit.profile, gained.claims, now, request, store, save_events, rules
        )
        plan.blocked = gained.blocked
        return plan

    async def _event_ids(
        self, payload: TrackerPayload, save_events: bool, known: set[str] | None = None
    ) -> tuple[list[str], list[int]]:
        """Every event's id (client ids kept), and the indexes of those not stored yet.

        A client id seen before, in the store or earlier in this payload, is an
        idempotent retry: it is answered but neither stored nor applied again."""
        ids = [event.id or new_id() for event in payload.events]
        client_ids = [event.id for event in payload.events if event.id]
        if known is None:
            known = (
                await self._storage.tracking.existing_event_ids(client_ids)
                if client_ids and save_events
                else set()
            )
        known = set(known)
        fresh: list[int] = []
        for index, event_id in enumerate(ids):
            if event_id not in known:
                known.add(event_id)
                fresh.append(index)
        return ids, fresh
