"""What comparisons mean between JSON values, datetimes and missing fields.

Types are never coerced: a number equals only a number, a string only a string,
and `true` is not `1`. A list compared for equality with a single value asks
whether the value is in the list (Tracardi's `field == value` on a list field),
in whichever order the two are written. Ordering compares numbers with numbers,
strings with strings and datetimes with datetimes; a datetime against a string
reads the string as an ISO 8601 time (for equality too). Any other mix is
simply false. None of
these raise: a condition never fails because of the data it reads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kith.notation.paths import MISSING

_SEQUENCES = (list, tuple)


def kind(value: Any) -> str:
    """The comparison kind of a value: number, str, bool, null, list, dict, datetime."""
    if value is None:
        return "null"
    cls = type(value)
    if cls is bool:
        return "bool"
    if cls is int or cls is float:
        return "number"
    if cls is str:
        return "str"
    if cls is list or cls is tuple:
        return "list"
    if cls is dict:
        return "dict"
    if isinstance(value, datetime):
        return "datetime"
    if isinstance(value, bool):  # subclasses: slower checks, same answers
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, dict):
        return "dict"
    return "other"


def same(left: Any, right: Any) -> bool:
    """Strict equality: equal values of the same kind (lists and dicts item by item)."""
    left_kind, right_kind = kind(left), kind(right)
    if left_kind != right_kind:
        if {left_kind, right_kind} == {"datetime", "str"}:
            pair = ordered(left, right)
            return pair is not None and bool(pair[0] == pair[1])
        return False
    if left_kind in ("list", "dict"):
        try:
            return _same_items(left, right)
        except RecursionError:  # documents nested deeper than Python recurses
            return False
    if left_kind == "other":
        return False
    return bool(left == right)


def _same_items(left: Any, right: Any) -> bool:
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(same(left[k], right[k]) for k in left)
    return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right, strict=True))


def member(item: Any, items: Any) -> bool:
    """Whether `item` is strictly equal to an element of the list `items`."""
    return any(same(item, candidate) for candidate in items)


def equal(left: Any, right: Any) -> bool:
    """`==`: strict equality, or membership when exactly one side is a list."""
    if left is MISSING or right is MISSING:
        return False
    left_list = isinstance(left, _SEQUENCES)
    right_list = isinstance(right, _SEQUENCES)
    if left_list and not right_list:
        return member(right, left)
    if right_list and not left_list:
        return member(left, right)
    return same(left, right)


def within(item: Any, items: Any) -> bool:
    """`IN`: `item` is an element of the list `items`; a list `item` needs one
    element in common."""
    if item is MISSING or not isinstance(items, _SEQUENCES):
        return False
    if isinstance(item, _SEQUENCES):
        return any(member(element, items) for element in item)
    return member(item, items)


def ordered(left: Any, right: Any) -> tuple[Any, Any] | None:
    """The two values in a form `<` can compare, or None when they cannot be ordered."""
    left_kind, right_kind = kind(left), kind(right)
    if left_kind == right_kind and left_kind in ("number", "str", "datetime"):
        return left, right
    if left_kind == "datetime" and right_kind == "str":
        parsed = parse_datetime(right)
        return None if parsed is None else (left, parsed)
    if left_kind == "str" and right_kind == "datetime":
        parsed = parse_datetime(left)
        return None if parsed is None else (parsed, right)
    return None


def less(left: Any, right: Any) -> bool:
    pair = ordered(left, right)
    return pair is not None and bool(pair[0] < pair[1])


def less_or_equal(left: Any, right: Any) -> bool:
    pair = ordered(left, right)
    return pair is not None and bool(pair[0] <= pair[1])


def empty(value: Any) -> bool:
    """`EMPTY`: missing, null, or an empty string, list or object (0 and false are values)."""
    if value is MISSING or value is None:
        return True
    if isinstance(value, str | list | tuple | dict):
        return len(value) == 0
    return False


def contains(container: Any, item: Any) -> bool:
    """`CONTAINS`: a substring of a string, or an element of a list."""
    if isinstance(container, str):
        return isinstance(item, str) and item in container
    if isinstance(container, _SEQUENCES):
        return item is not MISSING and member(item, container)
    return False


def starts_with(value: Any, prefix: Any) -> bool:
    """`STARTS WITH`: a string's prefix, or a list's first element (as in Tracardi)."""
    if isinstance(value, str):
        return isinstance(prefix, str) and value.startswith(prefix)
    if isinstance(value, _SEQUENCES):
        return bool(value) and prefix is not MISSING and same(value[0], prefix)
    return False


def ends_with(value: Any, suffix: Any) -> bool:
    """`ENDS WITH`: a string's suffix, or a list's last element (as in Tracardi)."""
    if isinstance(value, str):
        return isinstance(suffix, str) and value.endswith(suffix)
    if isinstance(value, _SEQUENCES):
        return bool(value) and suffix is not MISSING and same(value[-1], suffix)
    return False


def parse_datetime(text: str) -> datetime | None:
    """An ISO 8601 date or time; UTC when the text names no offset; None if it is not one."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def as_datetime(value: Any) -> Any:
    """A datetime from an ISO string, a datetime or epoch seconds; MISSING otherwise."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        parsed = parse_datetime(value)
        return MISSING if parsed is None else parsed
    if kind(value) == "number":
        return from_timestamp(value)
    return MISSING


def from_timestamp(value: Any) -> Any:
    """A UTC datetime from epoch seconds; MISSING when the value is not a usable number."""
    if kind(value) != "number":
        return MISSING
    try:
        return datetime.fromtimestamp(value, UTC)
    except (ValueError, OverflowError, OSError):
        return MISSING
