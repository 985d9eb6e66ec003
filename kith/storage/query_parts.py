"""What both engines' data queries share: stats buckets and exact-search candidates.

The engines count and search in their own SQL, but must agree on where a bucket
starts, what an answer looks like and which spellings of a value are looked up,
or the same question would get different answers on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kith.domain.clock import iso, micros
from kith.storage.ports import Document, EventFilter, SessionFilter, StatsBy, StatsInterval

BUCKET_MICROS: dict[StatsInterval, int] = {
    "minute": 60_000_000,
    "hour": 3_600_000_000,
    "day": 86_400_000_000,
}
_PHONE = re.compile(r"\+?[\d\s().-]{5,}")


@dataclass(slots=True)
class Buckets:
    """The buckets of a range: aligned on multiples of the width since the epoch, the
    first holding `from_`, so a row's bucket is `(time - origin) // width`."""

    interval: StatsInterval
    from_: datetime
    to: datetime
    by: StatsBy | None
    width: int
    start: int
    end: int
    origin: int
    counts: list[dict[str | None, int]]

    @classmethod
    def of(
        cls, interval: StatsInterval, from_: datetime, to: datetime, by: StatsBy | None
    ) -> Buckets:
        width = BUCKET_MICROS[interval]
        start, end = micros(from_), micros(to)
        origin = start - start % width
        total = max(0, -(-(end - origin) // width))
        counts: list[dict[str | None, int]] = [{} for _ in range(total)]
        return cls(interval, from_, to, by, width, start, end, origin, counts)

    def document(self) -> Document:
        """The answer: every bucket of the range, empty ones too, groups by count."""
        buckets: list[Document] = []
        for number, groups in enumerate(self.counts):
            moment = datetime.fromtimestamp((self.origin + number * self.width) / 1_000_000, UTC)
            bucket: Document = {"time": iso(moment), "count": sum(groups.values())}
            if self.by is not None:
                bucket["groups"] = dict(
                    sorted(groups.items(), key=lambda item: (-item[1], str(item[0])))
                )
            buckets.append(bucket)
        return {
            "interval": self.interval,
            "from": iso(self.from_),
            "to": iso(self.to),
            "by": self.by,
            "buckets": buckets,
        }


def exact_candidates(q: str) -> list[str]:
    """The spellings an exact value may be stored under in the identity index:
    as typed, lower-cased (e-mail), and as E.164 digits for something phone-like."""
    text = q.strip()
    values = {text, text.lower()}
    if _PHONE.fullmatch(text):
        digits = re.sub(r"\D", "", text)
        values.update({"+" + digits, digits})
    return sorted(value for value in values if value)


Condition = tuple[str, str, Any]
"""(column, operator, value): one `column op <placeholder>` in a WHERE clause."""


def event_conditions(where: EventFilter) -> list[Condition]:
    """The filters of an event list that both engines write the same way (equality on
    indexed columns and the lower time bound); the upper bound, the cursor and the
    tag are each engine's own (SQLite's planner needs the keyset form)."""
    found: list[Condition] = [
        (column, "=", value)
        for column, value in (
            ("profile_id", where.profile),
            ("session_id", where.session),
            ("type", where.type),
            ("source_id", where.source),
            ("status", where.status),
        )
        if value is not None
    ]
    if where.from_ is not None:
        found.append(("time", ">=", micros(where.from_)))
    return found


def session_conditions(where: SessionFilter) -> list[Condition]:
    """The filters of a session list both engines share (see `event_conditions`)."""
    found: list[Condition] = []
    if where.profile is not None:
        found.append(("profile_id", "=", where.profile))
    if where.from_ is not None:
        found.append(("created", ">=", micros(where.from_)))
    return found
