"""Live segmentation: after every unit of work that changes a profile (after its sync
flows, in the same commit), the profile's `segments` is made true, and entering
or leaving stores `segment-entered` / `segment-left` with it. A merge does the
same for the survivor."""

from __future__ import annotations

from kith.domain.clock import parse_iso
from kith.domain.document import Document
from kith.domain.segment import SEGMENT_ENTERED, SEGMENT_LEFT
from kith.segments.catalog import SegmentCatalog
from kith.segments.membership import evaluate
from kith.tracking.event_records import system_event
from kith.tracking.plan import Plan, Visit


def segment_events(
    entered: list[str],
    left: list[str],
    *,
    now: str,
    session: Document | None,
    profile_id: str,
    request: Document,
) -> list[Document]:
    return [
        system_event(
            kind,
            {"segment": segment},
            now=now,
            session=session,
            profile_id=profile_id,
            request=request,
        )
        for kind, segments in ((SEGMENT_ENTERED, entered), (SEGMENT_LEFT, left))
        for segment in segments
    ]


class LiveSegments:
    def __init__(self, catalog: SegmentCatalog) -> None:
        self._catalog = catalog

    async def after_events(self, visit: Visit) -> None:
        profile = visit.profile
        if profile is None:
            return
        definitions = await self._catalog.current()
        before = visit.segments_before
        if not definitions.segments and profile.get("segments") == before:
            return
        entered, left = evaluate(profile, definitions.segments, parse_iso(visit.now), before)
        if visit.stores_events:
            for record in segment_events(
                entered,
                left,
                now=visit.now,
                session=visit.session,
                profile_id=profile["id"],
                request=visit.request,
            ):
                visit.add_event(record)

    async def after_merge(self, plan: Plan, profiles: list[Document]) -> None:
        merged = plan.unit.profile
        if merged is None:
            return
        definitions = await self._catalog.current()
        before = list(profiles[0].get("segments") or [])
        entered, left = evaluate(merged, definitions.segments, parse_iso(plan.now), before)
        if plan.save_events:
            plan.unit.events.extend(
                segment_events(
                    entered,
                    left,
                    now=plan.now,
                    session=plan.unit.session,
                    profile_id=merged["id"],
                    request=plan.request,
                )
            )
