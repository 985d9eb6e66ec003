"""Segment metrics: profiles entering and leaving segments, and refresh work.

Changes are counted from the `segment-entered` / `segment-left` events committed
(live in the collector, by refresh jobs, by merges), so a unit built again after a
merge conflict is not counted twice. A refresh job's progress is a job (see
`kith_jobs`); the profiles it checked and changed are counted by the walk."""

from __future__ import annotations

from kith.metrics import MetricsRegistry
from kith.segments.refresh import ProfileWalk
from kith.tracking.stored import StoredEvents


def segment_metrics(metrics: MetricsRegistry, stored: StoredEvents, walk: ProfileWalk) -> None:
    metrics.counter(
        "kith_segment_changes",
        "Profiles entering or leaving a segment, by segment id and change (`entered`, `left`).",
        ["segment", "change"],
        stored.segment_changes.items,
    )
    metrics.counter(
        "kith_segment_refresh_profiles",
        "Profiles segment refresh jobs looked at (`checked`) and changed (`changed`).",
        ["outcome"],
        lambda: [(("checked",), walk.checked), (("changed",), walk.changed)],
    )
