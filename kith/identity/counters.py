"""How many merges this process made and refused, for `/metrics`.

Per process on purpose: Prometheus adds the processes up. Across processes and
over time, `merge-refused` and `profile-merged` events give the same numbers
through `GET /api/events/stats?by=type`."""

from __future__ import annotations

from collections import Counter


class IdentityCounters:
    def __init__(self) -> None:
        self.merges = 0
        """Merges committed or about to be (one per request that joined profiles)."""
        self.refused: Counter[str] = Counter()
        """Refused merges and claims, by rule (`limit`, `blocked`, `max_profiles_per_merge`)."""

    def merged(self) -> None:
        self.merges += 1

    def refuse(self, rule: str) -> None:
        self.refused[rule] += 1

    def snapshot(self) -> dict[str, int]:
        """`{"merges": n, "refused.limit": n, ...}`: a copy, safe to export."""
        return {"merges": self.merges, **{f"refused.{k}": v for k, v in self.refused.items()}}
