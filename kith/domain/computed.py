"""Computed traits: a number or value kept on the profile from its events.

`{"id": "orders-30d", "kind": "count", "event_type": "order-completed",
"property": "properties.total", "window": "30d"}` keeps `profile.computed["orders-30d"]`
up to date as events arrive. Each trait keeps a small state in the profile's
`aux.computed` from which its value is derived:

* without a window, an aggregate (`n`, `sum`, `v`, `t`, the distinct values), so
  an event costs constant work however many came before;
* with a window, the (time, value, event id) entries inside it (at most
  `MAX_ENTRIES`; older ones are dropped first and the state is marked `partial`
  until the next recompute from the stored events), so values age out exactly.

Age is measured from the event's own time (`metadata.time.create`). States
combine when profiles merge (counts add, extremes compare, entries unite by
event id), so events moved by a merge count once. Pure: no I/O, no clock."""

from __future__ import annotations

import re
from dataclasses import dataclass
from numbers import Number
from typing import Any, Literal

from kith.domain.clock import micros_of_iso
from kith.domain.document import Document
from kith.notation.paths import MISSING, get_path, parse_path

TraitKind = Literal["count", "sum", "min", "max", "first", "last", "distinct"]
KINDS: tuple[TraitKind, ...] = ("count", "sum", "min", "max", "first", "last", "distinct")
MAX_ENTRIES = 5000
MAX_DISTINCT = 1000
_WINDOW = re.compile(r"^\s*(\d{1,6})\s*([smhdw])\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def window_seconds(text: str) -> int:
    """`"30d"` -> 2592000; ValueError for anything else (`s m h d w`)."""
    found = _WINDOW.match(text)
    if found is None or int(found.group(1)) == 0:
        raise ValueError(f"a window is a positive number and a unit (s, m, h, d, w), not {text!r}")
    return int(found.group(1)) * _UNIT[found.group(2)]


@dataclass(slots=True, frozen=True)
class TraitDefinition:
    id: str
    kind: TraitKind
    event_type: str
    property: tuple[str, ...]
    window: int | None
    """Seconds, or None: all time."""

    @classmethod
    def of(cls, document: Document) -> TraitDefinition:
        kind = document["kind"]
        if kind not in KINDS:
            raise ValueError(f"kind is one of {', '.join(KINDS)}")
        raw = document.get("property") or ""
        keys = parse_path(raw).keys if raw else ()
        if kind != "count" and not keys:
            raise ValueError(f"a {kind} trait needs a `property`")
        window = document.get("window")
        return cls(
            id=str(document["id"]),
            kind=kind,
            event_type=str(document["event_type"]),
            property=keys,
            window=window_seconds(window) if window else None,
        )

    def reads(self, event: Document) -> Any:
        """The value this trait takes from an event, or MISSING if it takes none."""
        if self.kind == "count":
            return 1 if not self.property else _present(get_path(event, self.property))
        value = get_path(event, self.property)
        if self.kind in ("sum", "min", "max"):
            ok = isinstance(value, Number) and not isinstance(value, bool)
            return value if ok else MISSING
        if self.kind == "distinct" and isinstance(value, dict | list):
            return MISSING
        return _present(value)


def _present(value: Any) -> Any:
    return MISSING if value is MISSING or value is None else value


def event_time(event: Document) -> int:
    times = (event.get("metadata") or {}).get("time") or {}
    return micros_of_iso(times.get("create") or times["insert"])


def apply(state: Document, trait: TraitDefinition, event: Document) -> bool:
    """Count `event` into `state` (changed in place); True if it counted."""
    if event.get("type") != trait.event_type:
        return False
    value = trait.reads(event)
    if value is MISSING:
        return False
    moment = event_time(event)
    if trait.window is not None:
        entries: list[list[Any]] = state.setdefault("entries", [])
        if any(entry[2] == event.get("id") for entry in entries[-64:]):
            return False  # the same event again (a retried async run)
        entries.append([moment, value, event.get("id")])
        if len(entries) > 1 and entries[-2][0] > moment:
            entries.sort(key=lambda entry: entry[0])
        if len(entries) > MAX_ENTRIES:
            del entries[: len(entries) - MAX_ENTRIES]
            state["partial"] = True
        return True
    _fold(state, trait.kind, moment, value)
    return True


def _fold(state: Document, kind: TraitKind, moment: int, value: Any) -> None:
    if kind == "count":
        state["n"] = int(state.get("n") or 0) + 1
    elif kind == "sum":
        state["sum"] = (state.get("sum") or 0) + value
    elif kind in ("min", "max"):
        current = state.get("v")
        better = current is None or (value < current if kind == "min" else value > current)
        if better:
            state["v"] = value
    elif kind in ("first", "last"):
        current_time = state.get("t")
        later = current_time is None or moment >= current_time
        earlier = current_time is None or moment < current_time
        if (kind == "last" and later) or (kind == "first" and earlier):
            state["t"], state["v"] = moment, value
    else:
        values: list[Any] = state.setdefault("values", [])
        if value not in values and len(values) < MAX_DISTINCT:
            values.append(value)


def value(state: Document, trait: TraitDefinition, now_micros: int) -> Any:
    """The trait's value from its state, as of `now_micros` for windowed traits."""
    if trait.window is None:
        if trait.kind == "count":
            return int(state.get("n") or 0)
        if trait.kind == "sum":
            return state.get("sum") or 0
        if trait.kind == "distinct":
            return len(state.get("values") or [])
        return state.get("v")
    since = now_micros - trait.window * 1_000_000
    folded: Document = {}
    for moment, item, _ in state.get("entries") or []:
        if moment >= since:
            _fold(folded, trait.kind, moment, item)
    return value(folded, _all_time(trait), now_micros)


def age(state: Document, trait: TraitDefinition, now_micros: int) -> bool:
    """Drop windowed entries that aged out; True if any did."""
    if trait.window is None:
        return False
    since = now_micros - trait.window * 1_000_000
    entries = state.get("entries") or []
    kept = [entry for entry in entries if entry[0] >= since]
    if len(kept) == len(entries):
        return False
    state["entries"] = kept
    return True


def combine(states: list[Document], trait: TraitDefinition) -> Document:
    """One state from the states of merged profiles: each event counts once."""
    if trait.window is not None:
        seen: dict[Any, list[Any]] = {}
        for state in states:
            for entry in state.get("entries") or []:
                seen.setdefault(entry[2], entry)
        entries = sorted(seen.values(), key=lambda entry: entry[0])[-MAX_ENTRIES:]
        combined: Document = {"entries": entries}
        if any(state.get("partial") for state in states):
            combined["partial"] = True
        return combined
    combined = {}
    for state in states:
        if trait.kind == "count" and state.get("n"):
            combined["n"] = int(combined.get("n") or 0) + int(state["n"])
        elif trait.kind == "sum" and state.get("sum") is not None:
            combined["sum"] = (combined.get("sum") or 0) + state["sum"]
        elif trait.kind in ("min", "max", "first", "last") and state.get("v") is not None:
            _fold(combined, trait.kind, int(state.get("t") or 0), state["v"])
        elif trait.kind == "distinct":
            for item in state.get("values") or []:
                _fold(combined, "distinct", 0, item)
    return combined


def _all_time(trait: TraitDefinition) -> TraitDefinition:
    return TraitDefinition(trait.id, trait.kind, trait.event_type, trait.property, None)
