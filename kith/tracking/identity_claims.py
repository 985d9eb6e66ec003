"""The identity step of the pipeline: claiming merge-key values, merging owners.

A plan's profile gained key values in this request. Values nobody owns are
claimed; values owned by other profiles merge those profiles into one, if the
request holds their locks (otherwise it asks the pipeline to take them, in order,
and rebuild). A merge that would join more than `merge_max` profile ids is
refused, logged and answered with a warning."""

from __future__ import annotations

import logging

from kith.domain.event import SYSTEM_PROFILE_MERGED
from kith.domain.merge import merge_profiles
from kith.domain.session import bind
from kith.storage.ports import Document, Storage
from kith.tracking.event_records import system_event
from kith.tracking.locking import HeldLocks
from kith.tracking.plan import MergeStep, Plan

log = logging.getLogger(__name__)


class IdentityClaims:
    def __init__(
        self, storage: Storage, *, merge_max: int, steps: list[MergeStep] | None = None
    ) -> None:
        self._storage = storage
        self._merge_max = merge_max
        self._steps = steps if steps is not None else []

    async def settle(self, plan: Plan, held: HeldLocks) -> set[str] | None:
        """Give the profile its new identity entries, merging their other owners.

        Returns every profile this plan needs locked when some of them are not
        (the caller takes them all, in order, and rebuilds the plan), or None when
        the plan is ready to commit. All of them, not only the missing ones: the
        caller's relock releases what it is not asked for, and a plan needing
        owners A and B must not trade one lock for the other forever."""
        profile = plan.profile
        if profile is None or not plan.claims:
            return None
        await held.hold_keys(plan.claims)
        owners = await self._storage.tracking.identity_owners(plan.claims)
        others = {owner for owner in owners.values() if owner != profile["id"]}
        if others - held.profiles:
            return others
        loaded = [
            doc
            for doc in [await self._storage.tracking.get_profile(o) for o in sorted(others)]
            if doc
        ]
        combined = len({*profile["ids"], *(i for doc in loaded for i in doc.get("ids", []))})
        if loaded and combined > self._merge_max:
            log.warning(
                "merge refused: it would join %d profile ids (KITH_MERGE_MAX=%d)",
                combined,
                self._merge_max,
            )
            plan.result.warnings.append(
                f"Not merged: a shared identity value would join {combined} profile ids"
                f" (more than KITH_MERGE_MAX={self._merge_max})"
            )
            loaded = []
        kept = {doc["id"] for doc in loaded}
        claims = [c for c in plan.claims if owners.get(c) in (None, profile["id"], *kept)]
        if loaded:
            self._merge(plan, [profile, *loaded])
            for step in self._steps:
                await step.after_merge(plan, [profile, *loaded])
        survivor = plan.unit.profile["id"] if plan.unit.profile else profile["id"]
        plan.unit.identities.extend((kind, value, survivor) for kind, value in claims)
        return None

    def _merge(self, plan: Plan, profiles: list[Document]) -> None:
        outcome = merge_profiles(profiles, plan.now)
        survivor = outcome.profile["id"]
        unit = plan.unit
        unit.profile = outcome.profile
        unit.merged = outcome.merged_ids
        unit.identities = [(kind, value, survivor) for kind, value, _ in unit.identities]
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
