"""Computed traits kept on every stored event, in the request's unit of work.

Runs before the sync flows and the live segments, so both read
`profile@computed.<id>` with the request's own events counted. A merge combines
the merged profiles' trait states, so events moved by it count once."""

from __future__ import annotations

from kith.domain import computed
from kith.domain.clock import micros_of_iso
from kith.domain.document import Document
from kith.segments.catalog import Definitions, SegmentCatalog
from kith.tracking.plan import Plan, Visit

STATE = "computed"
"""Key in `profile.aux`: each trait's state, by trait id."""


def states(profile: Document) -> dict[str, Document]:
    aux = profile.setdefault("aux", {})
    found = aux.get(STATE)
    if not isinstance(found, dict):
        found = {}
        aux[STATE] = found
    return found


def refresh_values(profile: Document, definitions: Definitions, now_micros: int) -> None:
    """`profile.computed` from the states (windowed values as of `now_micros`)."""
    held = states(profile)
    values = profile.setdefault("computed", {})
    for trait in definitions.traits:
        state = held.get(trait.id)
        if state is not None:
            computed.age(state, trait, now_micros)
            values[trait.id] = computed.value(state, trait, now_micros)


def _state_of(profile: Document, trait_id: str) -> Document:
    """A trait's state in a profile, read without changing the profile."""
    found = ((profile.get("aux") or {}).get(STATE) or {}).get(trait_id)
    return found if isinstance(found, dict) else {}


class ComputedTraits:
    def __init__(self, catalog: SegmentCatalog) -> None:
        self._catalog = catalog

    async def after_events(self, visit: Visit) -> None:
        profile = visit.profile
        if profile is None:
            return
        definitions = await self._catalog.current()
        if not definitions.traits:
            return
        changed = False
        for _, record in visit.records:
            for trait in definitions.by_type.get(record.get("type") or "", ()):
                held = states(profile)
                state = held.setdefault(trait.id, {})
                changed = computed.apply(state, trait, record) or changed
        if changed:
            refresh_values(profile, definitions, micros_of_iso(visit.now))

    async def after_merge(self, plan: Plan, profiles: list[Document]) -> None:
        merged = plan.unit.profile
        if merged is None:
            return
        definitions = await self._catalog.current()
        if not definitions.traits:
            return
        held = states(merged)
        for trait in definitions.traits:
            inputs = [_state_of(profile, trait.id) for profile in profiles]
            held[trait.id] = computed.combine(inputs, trait)
        refresh_values(merged, definitions, micros_of_iso(plan.now))
