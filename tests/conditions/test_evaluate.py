"""What conditions mean: missing fields, types, functions, time, short-circuiting."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kith.conditions import check_condition, compile_condition, condition_problem

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
DOCS: dict[str, Any] = {
    "profile": {
        "n": 30,
        "f": 2.5,
        "s": "30",
        "t": "Hello World",
        "yes": True,
        "null": None,
        "list": ["a", "b", 3],
        "obj": {"k": 1},
        "empty": "",
        "none": [],
        "other": 30,
        "when": "2026-03-14T12:00:00",
        "warsaw": "2026-03-15T13:30:00+01:00",
        "low": 10,
        "high": 40,
        "favourite colour": "blue",
        "rows": [{"sku": "x-1"}, {"sku": "x-2"}],
    },
    "event": {"type": "purchase", "properties": {"total": 120}},
}


def run(condition: str, documents: Mapping[str, Any] = DOCS) -> bool:
    return compile_condition(condition).evaluate(documents, now=NOW)


# The missing-value table of docs/conditions.md, one row per form.
MISSING_TABLE = [
    ("profile@missing == 1", False),
    ("profile@missing = 1", False),
    ("profile@missing != 1", True),
    ("profile@missing <> 1", True),
    ("profile@missing > 1", False),
    ("profile@missing >= 1", False),
    ("profile@missing < 1", False),
    ("profile@missing <= 1", False),
    ("profile@missing BETWEEN 1 AND 2", False),
    ("profile@missing EXISTS", False),
    ("profile@missing NOT EXISTS", True),
    ("profile@missing IS NULL", False),
    ("profile@missing IS NOT NULL", True),
    ("profile@missing EMPTY", True),
    ("profile@missing NOT EMPTY", False),
    ('profile@missing CONTAINS "a"', False),
    ('profile@missing STARTS WITH "a"', False),
    ('profile@missing ENDS WITH "a"', False),
    ("profile@missing IN [1, 2]", False),
    ("profile@missing NOT IN [1, 2]", True),
    ("profile@missing == null", False),
    ("profile@missing == profile@also_missing", False),
    ("profile@missing != profile@also_missing", True),
    ("NOT (profile@missing == 1)", True),
    ("NOT (profile@missing != 1)", False),
    ("len(profile@missing) == 0", False),
    ('lowercase(profile@missing) == "a"', False),
    ("datetime(profile@missing) < now()", False),
    ("profile@n == profile@missing", False),
    ("profile@n BETWEEN profile@missing AND 100", False),
]


@pytest.mark.parametrize(("condition", "expected"), MISSING_TABLE)
def test_missing_fields(condition: str, expected: bool) -> None:
    assert run(condition) is expected
    assert run(condition, {}) is expected  # no documents at all reads the same


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("profile@null == null", True),
        ("profile@null != null", False),
        ("profile@null EXISTS", True),
        ("profile@null IS NULL", True),
        ("profile@null IS NOT NULL", False),
        ("profile@null EMPTY", True),
        ("profile@null > 1", False),
        ("profile@null == 0", False),
        ('profile@null CONTAINS "a"', False),
        ("profile@null IN [null, 1]", True),
    ],
)
def test_stored_null(condition: str, expected: bool) -> None:
    assert run(condition) is expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("profile@n == 30", True),
        ('profile@n == "30"', False),
        ('profile@n != "30"', True),
        ('profile@s == "30"', True),
        ("profile@s == 30", False),
        ("profile@n == 30.0", True),
        ("profile@yes == true", True),
        ("profile@yes == 1", False),
        ("profile@f > 2", True),
        ("profile@t > 3", False),
        ('profile@n > "a"', False),
        ('profile@n < "a"', False),
        ('profile@t > "Hello"', True),
        ("profile@yes > false", False),
        ("profile@list > 1", False),
        ('profile@list == ["a", "b", 3]', True),
        ('profile@list == ["a", "b"]', False),
        ('profile@list == "a"', True),
        ('"a" == profile@list', True),
        ("profile@list == 3", True),
        ('profile@list == "3"', False),
        ("profile@n == [1, 30]", True),
        ('profile@n == [1, "30"]', False),
        ("profile@n IN [1, 30]", True),
        ('profile@n IN ["30"]', False),
        ('profile@n NOT IN ["30"]', True),
        ('profile@list IN ["z", "b"]', True),
        ('profile@list IN ["z"]', False),
        ("profile@n IN profile@list", False),
        ('event@type IN ["purchase", 1, null]', True),
        ('profile@t CONTAINS "lo W"', True),
        ('profile@t CONTAINS "lo w"', False),
        ('profile@list CONTAINS "b"', True),
        ("profile@list CONTAINS 3", True),
        ('profile@n CONTAINS "3"', False),
        ('profile@t STARTS WITH "Hell"', True),
        ('profile@t ENDS WITH "World"', True),
        ('profile@list STARTS WITH "a"', True),
        ("profile@list ENDS WITH 3", True),
        ('profile@list ENDS WITH "a"', False),
        ("profile@none STARTS WITH 1", False),
        ("profile@empty EMPTY", True),
        ("profile@none EMPTY", True),
        ("profile@n EMPTY", False),
        ('profile@["favourite colour"] == "blue"', True),
        ('profile@rows.1.sku == "x-2"', True),
        ('profile@rows[0]["sku"] == "x-1"', True),
        ('profile@rows.5.sku == "x-2"', False),
        ("profile@n BETWEEN profile@low AND profile@high", True),
        ("profile@n BETWEEN profile@high AND profile@low", False),
        ('profile@t BETWEEN "A" AND "Z"', True),
        ('profile@n BETWEEN "1" AND "99"', False),
        ("profile@n == profile@other", True),
        ("profile@n == profile@low", False),
        ("profile@n != profile@low", True),
        ("profile@n > profile@low", True),
        ("len(profile@list) == 3", True),
        ("len(profile@t) == 11", True),
        ("len(profile@obj) == 1", True),
        ("len(profile@n) == 2", False),
        ('uppercase(profile@t) == "HELLO WORLD"', True),
        ("lowercase(profile@n) == 30", True),
        ('profile@n = 30 AND profile@t <> "x" AND profile@f => 2.5 AND profile@f =< 2.5', True),
    ],
)
def test_types_are_not_coerced_and_mismatches_are_false(condition: str, expected: bool) -> None:
    assert run(condition) is expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("profile@n == 1 AND event@type == 2 OR profile@n == 30", True),
        ("profile@n == 30 OR profile@n == 1 AND profile@n == 2", True),
        ("(profile@n == 30 OR profile@n == 1) AND profile@n == 2", False),
        ("NOT profile@n == 1 AND profile@n == 30", True),
        ("NOT (profile@n == 30 AND profile@n == 1)", True),
        ("NOT NOT profile@n == 30", True),
        ("not profile@n == 30 or profile@n == 30", True),
    ],
)
def test_precedence_not_and_or(condition: str, expected: bool) -> None:
    assert run(condition) is expected


class Recording(Mapping[str, Any]):
    """Scope documents that note which scopes a condition read."""

    def __init__(self, documents: dict[str, Any]) -> None:
        self.documents = documents
        self.read: list[str] = []

    def __getitem__(self, key: str) -> Any:
        self.read.append(key)
        return self.documents[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.documents)

    def __len__(self) -> int:
        return len(self.documents)


def test_and_or_short_circuit() -> None:
    documents = {"profile": {"n": 1}, "event": {"x": 1}, "session": {"y": 1}}
    scope = Recording(documents)
    assert compile_condition("profile@n == 2 AND event@x == 1").evaluate(scope) is False
    assert scope.read == ["profile"]
    scope = Recording(documents)
    assert compile_condition("profile@n == 1 OR event@x == 1").evaluate(scope) is True
    assert scope.read == ["profile"]
    scope = Recording(documents)
    condition = "profile@n == 2 AND event@x == 1 OR profile@n == 1 OR session@y == 1"
    assert compile_condition(condition).evaluate(scope) is True
    assert scope.read == ["profile", "profile"]
    scope = Recording(documents)
    condition = "profile@n == 1 AND event@x == 1 AND session@y == 2 AND profile@n == 1"
    assert compile_condition(condition).evaluate(scope) is False
    assert scope.read == ["profile", "event", "session"]


def test_time_functions_read_the_injected_clock() -> None:
    documents = {"profile": {"seen": (NOW - timedelta(days=29)).isoformat()}}
    recent = compile_condition('datetime(profile@seen) > now.offset("-30d")')
    assert recent.uses_now
    assert recent.evaluate(documents, now=NOW) is True
    assert recent.evaluate(documents, now=NOW + timedelta(days=2)) is False
    assert recent.evaluate(documents, now=NOW.replace(tzinfo=None) + timedelta(days=2)) is False
    assert recent.evaluate(documents) is False  # the real clock: 2026-03 is in the past


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("now() == utcnow()", True),
        ('now("Europe/Warsaw") == now()', True),
        ('now("europe/warsaw") == now.timezone("Europe/Warsaw")', True),
        ('datetime(profile@when) == datetime("2026-03-14T12:00:00Z")', True),
        ('datetime(profile@when) == datetime("2026-03-14 13:00:00+01:00")', True),
        ('datetime(profile@warsaw) == now.offset("+30m")', True),
        ("datetime(profile@warsaw) > now()", True),
        ("profile@warsaw > now()", True),
        ('profile@when < now.offset("-23h")', True),
        ('profile@when < now.offset("-1d")', False),
        ('profile@when == now.offset("-1d")', True),
        ('datetime.offset(profile@when, "+1d") == now()', True),
        ('datetime.offset(profile@when, "+1 day") == now()', True),
        ('datetime.offset(profile@when, "24h") == now()', True),
        ('datetime.offset(profile@when, "1d") >= now.offset("-1w") ', True),
        ('now.offset("Europe/Warsaw", "+1h") == now.offset("+60m")', True),
        ('now.timezone.offset("UTC", "-90s") < now()', True),
        ('datetime.timezone(profile@when, "Asia/Tokyo") == datetime(profile@when)', True),
        ("datetime.from_timestamp(1773576000) == now()", True),
        ("datetime(1773576000) == now()", True),
        ("datetime(profile@t) < now()", False),
        ("datetime(profile@t) != now()", True),
        ("datetime.offset(profile@when, profile@t) < now()", False),
        ("now(profile@t) < now()", False),
        ("profile@n > now()", False),
        ('datetime("2026-01-01") BETWEEN datetime("2025-12-31") AND now()', True),
    ],
)
def test_datetimes_are_timezone_aware(condition: str, expected: bool) -> None:
    assert run(condition) is expected


def test_uses_now_and_scopes() -> None:
    plain = compile_condition('profile@a == 1 AND lowercase(event@b) == "x" OR payload@c EXISTS')
    assert not plain.uses_now
    assert plain.scopes == {"profile", "event", "payload"}
    timed = compile_condition('datetime(session@t) > now.offset("-1h") AND memory@m == flow@f')
    assert timed.uses_now
    assert timed.scopes == {"session", "memory", "flow"}
    assert compile_condition('datetime("2020-01-01") < utcnow()').uses_now
    assert not compile_condition('datetime("2020-01-01") < datetime(profile@x)').uses_now


def test_compiled_once_per_text() -> None:
    text = "profile@cache.test == 1"
    assert compile_condition(text) is compile_condition(text)
    assert compile_condition(text).text == text


def odd_documents() -> list[Any]:
    class Opaque:
        def __eq__(self, other: object) -> bool:
            raise RuntimeError("never compared")

        __hash__ = object.__hash__

    deep: Any = "bottom"
    for _ in range(5000):
        deep = [deep]
    return [
        None,
        {"profile": None},
        {"profile": "text"},
        {"profile": [1, 2]},
        {"profile": {"n": Opaque(), "t": Opaque(), "list": [Opaque()]}},
        {"profile": {"n": float("nan"), "t": 10**400, "list": deep, "when": "2026-13-45"}},
        {"profile": {"n": {"a": 1}, "t": [], "list": {"0": 1}, "when": 1e300}},
    ]


@pytest.mark.parametrize("documents", odd_documents())
def test_odd_data_never_raises(documents: Any) -> None:
    conditions = [
        "profile@n == 1",
        "profile@n != profile@t",
        "profile@n > 1 OR profile@t < 2.5",
        'profile@t STARTS WITH "a" OR profile@list ENDS WITH "b"',
        'profile@list CONTAINS "bottom" OR profile@list IN [1, ["a"]]',
        "profile@list == profile@list",
        "len(profile@list) > 0 AND lowercase(profile@t) EMPTY",
        'datetime(profile@when) > now() OR datetime.offset(profile@when, "+1h") < now()',
        "datetime.from_timestamp(profile@when) < now()",
        "profile@n BETWEEN profile@t AND profile@list",
    ]
    scope = documents if isinstance(documents, Mapping) else {}
    for text in conditions:
        assert compile_condition(text).evaluate(scope, now=NOW) in (True, False)


def test_check_condition_and_condition_problem() -> None:
    ok = check_condition("profile@n > 1", {"profile": {"n": 2}})
    assert (ok.valid, ok.result, ok.error) == (True, True, None)
    bad = check_condition("profile@n >", {"profile": {"n": 2}})
    assert (bad.valid, bad.result) == (False, None)
    assert bad.error is not None and "line 1, column 12" in bad.error
    assert condition_problem("profile@n > 1") is None
    problem = condition_problem('profile@n > 1 AND\n  event@x ==== "a"')
    assert problem is not None and problem.startswith("line 2, column 13: unexpected '=='")
    naive = check_condition(
        'now() > datetime("2026-03-15T11:00:00")', {}, now=NOW.replace(tzinfo=None)
    )
    assert naive.result is True
