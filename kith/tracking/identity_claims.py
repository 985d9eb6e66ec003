"""The identity step of the pipeline: claiming merge-key values, merging owners.

A plan's profile gained key values in this request. The request locks the values,
looks up their owners and, once it holds every owner's lock (otherwise it asks
the pipeline to take them, in order, and rebuild), lets the identity rules
(`kith.identity.decisions`) say which values it claims and which owners it joins.
A refusal is answered with a warning, logged without the value, counted, and
stored as a `merge-refused` event on the profile that asked, in the same unit
of work as everything else."""

from __future__ import annotations

import logging

from kith.domain.event import SYSTEM_MERGE_REFUSED, SYSTEM_PROFILE_MERGED
from kith.domain.merge import merge_profiles
from kith.domain.session import bind
from kith.identity.counters import IdentityCounters
from kith.identity.decisions import Refusal, decide_claims
from kith.identity.merge_keys import ID_KIND
from kith.storage.ports import Document, IdentityRow, Storage
from kith.tracking.event_records import system_event
from kith.tracking.locking import HeldLocks
from kith.tracking.plan import MergeStep, Plan

log = logging.getLogger(__name__)


def claiming_event(profile: Document, kind: str) -> str | None:
    """The event that last wrote the key's field: the field change log says."""
    entry = ((profile.get("metadata") or {}).get("fields") or {}).get(kind)
    event = entry.get("event") if isinstance(entry, dict) else None
    return event if isinstance(event, str) else None


class IdentityClaims:
    def __init__(
        self, storage: Storage, counters: IdentityCounters, steps: list[MergeStep] | None = None
    ) -> None:
        self._storage = storage
        self._counters = counters
        self._steps = steps if steps is not None else []

    async def settle(self, plan: Plan, held: HeldLocks) -> set[str] | None:
        """Give the profile its new identity entries, merging their other owners.

        Returns every profile this plan needs locked when some of them are not
        (the caller takes them all, in order, and rebuilds the plan), or None when
        the plan is ready to commit. All of them, not only the missing ones: the
        caller's relock releases what it is not asked for, and a plan needing
        owners A and B must not trade one lock for the other forever."""
        profile = plan.profile
        if profile is None or not (plan.claims or plan.blocked):
            return None
        refusals = [Refusal(kind, "blocked", None) for kind in plan.blocked]
        if plan.claims:
            tracking = self._storage.tracking
            await held.hold_keys(plan.claims)
            owners = await tracking.identity_owners(plan.claims)
            others = {owner for owner in owners.values() if owner != profile["id"]}
            if others - held.profiles:
                return others
            owned = await tracking.owned_keys([profile["id"], *sorted(others)])
            decision = decide_claims(profile["id"], plan.claims, owners, owned, plan.rules)
            refusals += decision.refusals
            loaded = [doc for doc in [await tracking.get_profile(o) for o in decision.merge] if doc]
            if loaded:
                self._merge(plan, [profile, *loaded])
                for step in self._steps:
                    await step.after_merge(plan, [profile, *loaded])
            owner = plan.unit.profile or profile
            survivor = owner["id"]
            plan.unit.identities.extend(
                IdentityRow(kind, value, survivor, plan.now, claiming_event(profile, kind))
                for kind, value in decision.claimed
            )
            ids = owner.setdefault("ids", [])
            # ids claimed by a bridge (see external_people) become the profile's own
            ids.extend(v for k, v in decision.claimed if k == ID_KIND and v not in ids)
        self._refused(plan, refusals)
        return None

    def _merge(self, plan: Plan, profiles: list[Document]) -> None:
        outcome = merge_profiles(profiles, plan.now)
        survivor = outcome.profile["id"]
        unit = plan.unit
        unit.profile = outcome.profile
        unit.merged = outcome.merged_ids
        unit.identities = [row._replace(profile_id=survivor) for row in unit.identities]
        for event in unit.events:
            if event.get("profile"):
                event["profile"] = {"id": survivor}
        if unit.session is not None:
            bind(unit.session, survivor)
        if plan.save_events:
            unit.events.append(
                system_event(
                    SYSTEM_PROFILE_MERGED,
                    {"merged": outcome.merged_ids},
                    now=plan.now,
                    session=unit.session,
                    profile_id=survivor,
                    request=plan.request,
                )
            )
        plan.result.profile_id = survivor
        plan.store = True
        self._counters.merged()

    def _refused(self, plan: Plan, refusals: list[Refusal]) -> None:
        """Warn, log, count and record each refusal on the profile that asked (the
        survivor, when the request merged it into an older one)."""
        unit = plan.unit
        asking = unit.profile["id"] if unit.profile else plan.result.profile_id
        for refusal in refusals:
            log.warning("merge refused: key %s, rule %s", refusal.key, refusal.rule)
            self._counters.refuse(refusal.rule)
            plan.result.warnings.append(refusal.warning(plan.rules))
            if plan.save_events:
                unit.events.append(
                    system_event(
                        SYSTEM_MERGE_REFUSED,
                        refusal.properties(),
                        now=plan.now,
                        session=unit.session,
                        profile_id=asking,
                        request=plan.request,
                    )
                )
        if refusals and plan.save_events:
            plan.store = True
