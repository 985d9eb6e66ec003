"""Merging profiles that turn out to be one person, without silently losing data.

When two profiles come to share a merge key (an e-mail, a phone, a customer id) they
are the same person seen through different devices or sessions. The oldest profile
survives, so ids handed out earliest keep resolving to the same document, and every
other profile folds into it. The rules are chosen so that nothing the inputs knew
disappears unnoticed:

* counts (``stats``, ``data.metrics``, ``interests``) add up, because each profile
  counted different visits and orders;
* lists take the union, because each profile saw a part of the whole;
* a scalar that disagrees is decided by the field change log (the most recently
  changed value is the most likely to be true), and every losing value is kept in
  ``aux.merge_conflicts`` so a person, or a later rule, can still look at it;
* times that are summaries by nature (create, visit current/last, consents, the field
  log itself) take the earliest or latest, which is what they mean.

The module is pure: it reads its inputs, never mutates them, and returns new data.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kith.domain.clock import parse_iso
from kith.domain.document import Document

__all__ = ["ADDITIVE_AREAS", "Document", "MergeOutcome", "choose_survivor", "merge_profiles"]

Path = tuple[str, ...]
Present = list[tuple["_Source", Any]]
"""The values one dotted path holds, one per profile that has the key, survivor first."""

ADDITIVE_AREAS: tuple[Path, ...] = (("stats",), ("data", "metrics"), ("interests",))
"""Subtrees whose numbers are counts or amounts: each profile counted separately, so add."""

CONFLICTS: Path = ("aux", "merge_conflicts")
_VISIT_TIMES = ("last", "current", "count", "tz")
_OLDEST = datetime.min.replace(tzinfo=UTC)
_NEWEST = datetime.max.replace(tzinfo=UTC)


@dataclass(slots=True, frozen=True)
class MergeOutcome:
    """The merged survivor and which profiles it absorbed (their ids now resolve to it)."""

    profile: Document
    merged_ids: list[str]


def choose_survivor(profiles: Sequence[Document]) -> Document:
    """The oldest profile by ``metadata.time.create``, ties broken by the smaller id.

    The oldest survives because its id is the one most likely held by trackers, CRM
    exports and other systems. Times are compared as datetimes, not strings, so that
    different offsets or precisions order correctly; a profile without a readable
    create time sorts after every dated one rather than failing the merge.
    """
    if not profiles:
        raise ValueError("choose_survivor needs at least one profile")

    def age(profile: Document) -> tuple[datetime, str]:
        created = _moment(_get(profile, ("metadata", "time", "create")))
        return (created or _NEWEST, str(profile.get("id")))

    return min(profiles, key=age)


def merge_profiles(profiles: Sequence[Document], now: str) -> MergeOutcome:
    """Merge two or more profile documents into the survivor (see ``choose_survivor``).

    Deterministic for a given input order: the survivor's values come first, then the
    others' in input order, which also decides ties. The inputs are not mutated and
    the result shares no mutable part with them.
    """
    if not profiles:
        raise ValueError("merge_profiles needs at least one profile")
    survivor = choose_survivor(profiles)
    start = next(index for index, profile in enumerate(profiles) if profile is survivor)
    ordered = [survivor, *profiles[:start], *profiles[start + 1 :]]
    sources = [_Source.of(rank, profile) for rank, profile in enumerate(ordered)]
    merged = _Merger(sources, now).run()

    merged_ids: list[str] = []
    for source in sources[1:]:
        text = str(source.id)
        if source.id != survivor.get("id") and text not in merged_ids:
            merged_ids.append(text)
    return MergeOutcome(profile=merged, merged_ids=merged_ids)


@dataclass(slots=True, frozen=True)
class _Source:
    """One input profile with its rank (0 is the survivor) and its field change log."""

    rank: int
    id: Any
    doc: Document
    field_log: Mapping[str, Any]

    @classmethod
    def of(cls, rank: int, doc: Document) -> _Source:
        log = _get(doc, ("metadata", "fields"))
        return cls(rank, doc.get("id"), doc, log if isinstance(log, Mapping) else {})

    def logged_time(self, dotted: str) -> Any:
        """The field log's raw time for a path, reported as-is in merge conflicts."""
        entry = self.field_log.get(dotted)
        return entry.get("time") if isinstance(entry, Mapping) else None

    def changed_at(self, dotted: str) -> datetime | None:
        return _moment(self.logged_time(dotted))


class _Merger:
    """Walks the documents in parallel, path by path, and collects new conflicts."""

    def __init__(self, sources: list[_Source], now: str) -> None:
        self.sources = sources
        self.now = now
        self.conflicts: dict[str, list[Document]] = {}
        self.handlers: dict[Path, Callable[[Path, Present], Any]] = {
            ("id",): lambda _path, _present: _copy(self.sources[0].doc.get("id")),
            ("ids",): lambda _path, _present: self.all_ids(),
            ("active",): self.any_true,
            ("consents",): self.latest_entries,
            ("segments",): self.union_set,
            ("metadata", "fields"): self.latest_entries,
            ("metadata", "time", "create"): self.earliest,
            ("metadata", "time", "insert"): self.earliest,
            ("metadata", "time", "update"): lambda _path, _present: self.now,
            ("metadata", "time", "visit"): self.visit,
            CONFLICTS: self.concat_conflicts,
        }

    def run(self) -> Document:
        merged = self.merge_dicts((), [(source, source.doc) for source in self.sources])
        merged["ids"] = self.all_ids()
        time = _get(merged, ("metadata", "time"))
        if isinstance(time, dict):
            time["update"] = self.now
        self.store_conflicts(merged)
        return merged

    # -- dispatch ---------------------------------------------------------------

    def value(self, path: Path, present: Present) -> Any:
        """Merge what the profiles hold at one path; special paths have their own rule."""
        handler = self.handlers.get(path)
        if handler is not None:
            return handler(path, present)
        return self.generic(path, present, additive=_in_additive_area(path))

    def generic(self, path: Path, present: Present, *, additive: bool) -> Any:
        """Sum counts, recurse into dicts, unite lists, and decide anything else as a scalar.

        Only when every non-null value has the same shape is that shape's rule used;
        a dict against a string is a conflict like any other, so the loser is kept
        whole in ``aux.merge_conflicts`` rather than half-merged.
        """
        values = [(source, value) for source, value in present if value is not None]
        if not values:
            return None
        if additive and all(_is_number(value) for _, value in values):
            return _add(value for _, value in values)
        if all(isinstance(value, dict) for _, value in values):
            return self.merge_dicts(path, values)
        if all(isinstance(value, list) for _, value in values):
            return _union((value for _, value in values), keep_repeats=True)
        return self.scalar(path, values)

    def merge_dicts(self, path: Path, values: Present) -> dict[str, Any]:
        """Key by key; a key only one profile has is kept as it is."""
        keys: dict[Any, None] = {}
        for _, mapping in values:
            keys.update(dict.fromkeys(mapping))
        merged: dict[str, Any] = {}
        for key in keys:
            present = [(source, mapping[key]) for source, mapping in values if key in mapping]
            merged[key] = self.value((*path, str(key)), present)
        return merged

    # -- the scalar rule --------------------------------------------------------

    def scalar(self, path: Path, values: Present) -> Any:
        """Agreement keeps the value; disagreement goes to the most recently changed one.

        A profile without a field-log entry for the path counts as oldest, and ties go
        to the survivor and then input order (``values`` is in that order and the sort
        is stable). Each distinct losing value is recorded once, attributed to its
        most recent holder, so the conflict list says who last claimed it and when.
        """
        first = _canon(values[0][1])
        if all(_canon(value) == first for _, value in values[1:]):
            return _copy(values[0][1])
        dotted = ".".join(path)
        ranked = sorted(
            values, key=lambda item: item[0].changed_at(dotted) or _OLDEST, reverse=True
        )
        winner = ranked[0][1]
        seen = {_canon(winner)}
        for source, value in ranked[1:]:
            key = _canon(value)
            if key not in seen:
                seen.add(key)
                self.conflict(dotted, value, source, source.logged_time(dotted))
        return _copy(winner)

    def conflict(self, dotted: str, value: Any, source: _Source, time: Any) -> None:
        entry = {"value": _copy(value), "profile": source.id, "time": _copy(time)}
        self.conflicts.setdefault(dotted, []).append(entry)

    # -- special paths ----------------------------------------------------------

    def all_ids(self) -> list[Any]:
        """Every id and every alias, survivor's first: any of them must still resolve."""
        lists: list[list[Any]] = []
        for source in self.sources:
            aliases = source.doc.get("ids")
            if not isinstance(aliases, list):
                aliases = [] if aliases is None else [aliases]
            lists.append([source.id, *aliases] if source.id is not None else aliases)
        return _union(lists, keep_repeats=False)

    def union_set(self, path: Path, present: Present) -> Any:
        """Segment names are a set: no name twice, first appearance decides the order."""
        values = [(source, value) for source, value in present if value is not None]
        if values and all(isinstance(value, list) for _, value in values):
            return _union((value for _, value in values), keep_repeats=False)
        return self.generic(path, present, additive=False)

    def any_true(self, path: Path, present: Present) -> Any:
        """A profile active anywhere is active: merging must not deactivate a person."""
        if any(value is True for _, value in present):
            return True
        return self.generic(path, present, additive=False)

    def earliest(self, path: Path, present: Present) -> Any:
        """Creation and insertion happened when the first of the profiles did."""
        dated = [(when, value) for _, value in present if (when := _moment(value))]
        if not dated:
            return self.generic(path, present, additive=False)
        return min(dated, key=lambda item: item[0])[1]

    def latest_entries(self, path: Path, present: Present) -> Any:
        """Per key, the entry with the latest ``time`` (consents, the field change log).

        A consent decision or a field change is a statement at a moment; the newest
        statement is the current truth, older ones are history, not conflicts.
        """
        values = [(source, value) for source, value in present if value is not None]
        if not values or not all(isinstance(value, dict) for _, value in values):
            return self.generic(path, present, additive=False)

        def recency(entry: Any) -> tuple[bool, datetime]:
            when = _moment(entry.get("time")) if isinstance(entry, Mapping) else None
            return (entry is not None, when or _OLDEST)

        keys: dict[Any, None] = {}
        for _, mapping in values:
            keys.update(dict.fromkeys(mapping))
        merged: dict[str, Any] = {}
        for key in keys:
            entries = [mapping[key] for _, mapping in values if key in mapping]
            merged[key] = _copy(max(entries, key=recency))
        return merged

    def visit(self, path: Path, present: Present) -> Any:
        """Visit counts add; current is the latest visit, last the one before it.

        ``last`` is the latest of every other current and last, so merging a phone
        visited today with a laptop visited yesterday says "last visit: yesterday".
        The time zone belongs to the visit that became current.
        """
        values = [(source, value) for source, value in present if value is not None]
        if not values or not all(isinstance(value, dict) for _, value in values):
            return self.generic(path, present, additive=False)
        rest = [
            (source, {k: v for k, v in visit.items() if k not in _VISIT_TIMES})
            for source, visit in values
        ]
        times = self.visit_times(values)
        merged: dict[str, Any] = {}
        for key in _VISIT_TIMES:
            if not any(key in visit for _, visit in values):
                continue
            if key == "count":
                counts = [(source, visit[key]) for source, visit in values if key in visit]
                merged[key] = self.generic((*path, key), counts, additive=True)
            else:
                merged[key] = times[key]
        merged.update(self.merge_dicts(path, rest))
        return merged

    def visit_times(self, values: Present) -> dict[str, Any]:
        """last/current/tz together: last and tz both depend on which current won."""
        currents = [
            (when, source, visit["current"])
            for source, visit in values
            if (when := _moment(visit.get("current")))
        ]
        times = [
            when
            for _, visit in values
            for key in ("current", "last")
            if (when := _moment(visit.get(key)))
        ]
        tzs = [visit["tz"] for _, visit in values if visit.get("tz") is not None]
        if not currents:
            fallback = [visit["current"] for _, visit in values if visit.get("current")]
            lasts = [
                (when, visit["last"]) for _, visit in values if (when := _moment(visit.get("last")))
            ]
            return {
                "last": max(lasts, key=lambda item: item[0])[1] if lasts else None,
                "current": fallback[0] if fallback else None,
                "tz": tzs[0] if tzs else None,
            }
        # max() returns the first of equal maxima, so a tie goes to the survivor.
        moment, owner, current = max(currents, key=lambda item: item[0])
        earlier = [when for when in times if when != moment]
        last = None
        if earlier:
            latest = max(earlier)
            last = next(
                visit[key]
                for _, visit in values
                for key in ("current", "last")
                if _moment(visit.get(key)) == latest
            )
        owner_tz = next(visit.get("tz") for source, visit in values if source is owner)
        return {
            "last": last,
            "current": current,
            "tz": owner_tz if owner_tz is not None else (tzs[0] if tzs else None),
        }

    def concat_conflicts(self, path: Path, present: Present) -> Any:
        """Earlier merges' conflicts are history: all of them are kept, none re-decided."""
        merged: dict[str, list[Any]] = {}
        for source, value in present:
            if value is None:
                continue
            if not isinstance(value, dict):
                self.conflict(".".join(path), value, source, None)
                continue
            for key, entries in value.items():
                bucket = merged.setdefault(key, [])
                if isinstance(entries, list):
                    bucket.extend(_copy(entry) for entry in entries)
                elif entries is not None:
                    bucket.append(_copy(entries))
        return merged

    def store_conflicts(self, merged: Document) -> None:
        """Append this merge's conflicts after the inherited ones, in path order found."""
        if not self.conflicts:
            return
        aux = merged.get("aux")
        if not isinstance(aux, dict):
            # A non-dict aux won the scalar rule; keep it as a conflict, make room.
            if aux is not None:
                self.conflict("aux", aux, self.sources[0], None)
            aux = merged["aux"] = {}
        existing = aux.get("merge_conflicts")
        if not isinstance(existing, dict):
            existing = aux["merge_conflicts"] = {}
        for dotted, entries in self.conflicts.items():
            existing.setdefault(dotted, []).extend(entries)


# -- helpers ---------------------------------------------------------------------


def _get(document: Any, path: Path) -> Any:
    for key in path:
        if not isinstance(document, Mapping):
            return None
        document = document.get(key)
    return document


def _moment(value: Any) -> datetime | None:
    """A time as a datetime, or None when absent or unreadable (it then counts as oldest)."""
    if not isinstance(value, str):
        return None
    try:
        return parse_iso(value)
    except ValueError:
        return None


def _in_additive_area(path: Path) -> bool:
    return any(len(path) > len(area) and path[: len(area)] == area for area in ADDITIVE_AREAS)


def _is_number(value: Any) -> bool:
    """JSON numbers; bools are ints to Python but flags to us, so they never add."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _add(values: Iterable[Any]) -> Any:
    """Sum left to right from the first value, so ints stay ints."""
    iterator = iter(values)
    total = next(iterator)
    for value in iterator:
        total = total + value
    return total


def _canon(value: Any) -> Hashable:
    """A hashable stand-in that is equal exactly when two JSON values are equal.

    Plain ``==`` would call ``True`` and ``1`` equal and dedupe one of them away; here
    bools, numbers and strings never collide, and dicts and lists compare deeply.
    """
    if value is None:
        return ("null",)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", value)
    if isinstance(value, str):
        return ("string", value)
    if isinstance(value, Mapping):
        return ("object", frozenset((_canon(k), _canon(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return ("array", tuple(_canon(item) for item in value))
    try:
        hash(value)
    except TypeError:
        return ("repr", type(value).__name__, repr(value))
    return ("other", type(value).__name__, value)


def _union(lists: Iterable[list[Any]], *, keep_repeats: bool) -> list[Any]:
    """Order-keeping union; equal values (compared deeply) appear once.

    With ``keep_repeats`` a value repeated inside one list keeps its multiplicity (the
    largest count any one profile has), so a list such as ``[10, 10]`` of two equal
    orders is not shortened, yet the same value seen by two profiles is not doubled.
    """
    merged: list[Any] = []
    taken: Counter[Hashable] = Counter()
    for items in lists:
        local: Counter[Hashable] = Counter()
        for item in items:
            key = _canon(item)
            local[key] += 1
            if local[key] > taken[key] and (keep_repeats or not taken[key]):
                merged.append(_copy(item))
                taken[key] += 1
    return merged


def _copy(value: Any) -> Any:
    """Copy containers so the result never aliases an input; scalars are immutable."""
    return copy.deepcopy(value) if isinstance(value, dict | list) else value
