"""The functions a condition may call, and what each argument must be.

Tracardi's time functions as its users write them (`now()`, `now("Europe/Warsaw")`,
`now.offset("-30d")`, `datetime(x)`, `datetime.offset(x, "+1h")`, ...) plus
`utcnow()` (which Tracardi documents but whose result it compares naively) and
`len()`. A missing argument makes the result missing; an argument of the wrong
kind at run time does too, so the comparison that uses it is false. A literal
offset or time zone that cannot work is refused when the condition is parsed."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any, Final
from zoneinfo import ZoneInfo, available_timezones

from kith.conditions.values import as_datetime, from_timestamp
from kith.notation.paths import MISSING

_OFFSET = re.compile(r"\s*([+-]?)\s*((?:\d+(?:\.\d+)?\s*[a-z]+\s*)+)", re.IGNORECASE)
_OFFSET_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)", re.IGNORECASE)
_UNITS: Final = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), 86400),
    **dict.fromkeys(("w", "week", "weeks"), 604800),
}


@lru_cache(maxsize=1024)
def parse_offset(text: str) -> timedelta:
    """`-30d`, `+1h`, `+700 days`, `1h30m`: a signed duration; ValueError if it is not one."""
    match = _OFFSET.fullmatch(text)
    if match is None:
        raise ValueError(f'{text!r} is not an offset such as "-30d" or "+1h" (units s m h d w)')
    seconds = 0.0
    for amount, unit in _OFFSET_PART.findall(match.group(2)):
        factor = _UNITS.get(unit.lower())
        if factor is None:
            raise ValueError(f"unknown unit {unit!r} in offset {text!r}; use s, m, h, d or w")
        seconds += float(amount) * factor
    try:
        delta = timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(f"offset {text!r} is too large") from None
    return -delta if match.group(1) == "-" else delta


@lru_cache(maxsize=256)
def time_zone(name: str) -> tzinfo:
    """The IANA zone of `name`, ignoring case (`europe/warsaw` works, as in Tracardi)."""
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        pass
    canonical = _zone_names().get(name.strip().lower())
    if canonical is None:
        raise ValueError(f'unknown time zone {name!r}; use an IANA name such as "Europe/Warsaw"')
    return ZoneInfo(canonical)


@lru_cache(maxsize=1)
def _zone_names() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def _offset(value: Any) -> timedelta | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_offset(value)
    except ValueError:
        return None


def _zone(value: Any) -> tzinfo | None:
    if not isinstance(value, str):
        return None
    try:
        return time_zone(value)
    except ValueError:
        return None


def _shift(moment: Any, offset: Any) -> Any:
    delta = _offset(offset)
    if not isinstance(moment, datetime) or delta is None:
        return MISSING
    try:
        return moment + delta
    except OverflowError:
        return MISSING


def _in_zone(moment: Any, zone_name: Any) -> Any:
    zone = _zone(zone_name)
    if not isinstance(moment, datetime) or zone is None:
        return MISSING
    try:
        return moment.astimezone(zone)
    except (OverflowError, ValueError):
        return MISSING


def _now(now: datetime, *args: Any) -> Any:
    return _in_zone(now, args[0]) if args else now


def _now_offset(now: datetime, *args: Any) -> Any:
    if len(args) == 2:  # now.offset("Europe/Warsaw", "+1d"), as Tracardi's IF node documents
        return _shift(_in_zone(now, args[0]), args[1])
    return _shift(now, args[0])


def _case(change: Callable[[str], str]) -> Callable[..., Any]:
    def apply(now: datetime | None, value: Any) -> Any:
        return change(value) if isinstance(value, str) else value

    return apply


def _length(now: datetime | None, value: Any) -> Any:
    return len(value) if isinstance(value, str | list | tuple | dict) else MISSING


@dataclass(frozen=True, slots=True)
class Function:
    """A callable of a condition. `params` names each argument's kind per arity
    (`value`, `time`, `offset`, `zone`); `reads_clock` marks functions of the current time."""

    name: str
    params: tuple[tuple[str, ...], ...]
    reads_clock: bool
    apply: Callable[..., Any]

    def check(self, literal_args: list[tuple[int, Any]], arity: int) -> None:
        """Refuse literal arguments that can never work; ValueError says which."""
        kinds = next(p for p in self.params if len(p) == arity)
        for index, value in literal_args:
            if kinds[index] == "offset":
                if not isinstance(value, str):
                    raise ValueError(f'{self.name}() takes an offset string such as "-30d"')
                parse_offset(value)
            elif kinds[index] == "zone":
                if not isinstance(value, str):
                    raise ValueError(f'{self.name}() takes a time zone name such as "UTC"')
                time_zone(value)
            elif kinds[index] == "time" and as_datetime(value) is MISSING:
                raise ValueError(f"{self.name}() cannot read {value!r} as a date and time")


FUNCTIONS: Final = {
    f.name: f
    for f in (
        Function("now", ((), ("zone",)), True, _now),
        Function("utcnow", ((),), True, lambda now: now),
        Function("now.offset", (("offset",), ("zone", "offset")), True, _now_offset),
        Function("now.timezone", (("zone",),), True, lambda now, zone: _in_zone(now, zone)),
        Function(
            "now.timezone.offset",
            (("zone", "offset"),),
            True,
            lambda now, zone, offset: _shift(_in_zone(now, zone), offset),
        ),
        Function("datetime", (("time",),), False, lambda now, value: as_datetime(value)),
        Function(
            "datetime.offset",
            (("time", "offset"),),
            False,
            lambda now, value, offset: _shift(as_datetime(value), offset),
        ),
        Function(
            "datetime.timezone",
            (("time", "zone"),),
            False,
            lambda now, value, zone: _in_zone(as_datetime(value), zone),
        ),
        Function("datetime.from_timestamp", (("value",),), False, lambda now, v: from_timestamp(v)),
        Function("lowercase", (("value",),), False, _case(str.lower)),
        Function("uppercase", (("value",),), False, _case(str.upper)),
        Function("len", (("value",),), False, _length),
    )
}
