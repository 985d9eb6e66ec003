"""Fifteen conditions as Tracardi's users write them (the forms of its logic-notation
and IF-node pages), each with the result Tracardi documents for it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kith.conditions import compile_condition

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


def ago(**delta: float) -> str:
    return (NOW - timedelta(**delta)).isoformat()


EXAMPLES: list[tuple[str, str, dict[str, Any], bool]] = [
    (
        "profile adult",
        "profile@data.pii.age >= 18",
        {"profile": {"data": {"pii": {"age": 30}}}},
        True,
    ),
    (
        "large purchase",
        "event@properties.total > 1000",
        {"event": {"properties": {"total": 1499.99}}},
        True,
    ),
    (
        "VIP with parentheses",
        'profile@traits.vip == true AND (event@type == "purchase" '
        'OR event@properties.action == "add_to_cart")',
        {"profile": {"traits": {"vip": True}}, "event": {"properties": {"action": "add_to_cart"}}},
        True,
    ),
    (
        "BETWEEN is inclusive",
        "payload@quantity BETWEEN 10 AND 50",
        {"payload": {"quantity": 50}},
        True,
    ),
    (
        "EXISTS is true for a stored null",
        "profile@data.pii.middlename EXISTS",
        {"profile": {"data": {"pii": {"middlename": None}}}},
        True,
    ),
    (
        "NOT EMPTY on an empty list",
        "payload@items NOT EMPTY",
        {"payload": {"items": []}},
        False,
    ),
    (
        "IS NULL on a missing field",
        "payload@description IS NULL",
        {"payload": {}},
        False,
    ),
    (
        "STARTS WITH on a user agent",
        'event@request.headers.user-agent STARTS WITH "Mozilla/5.0"',
        {
            "event": {
                "request": {
                    "headers": {"user-agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"}
                }
            }
        },
        True,
    ),
    (
        "ENDS WITH .pdf",
        'event@properties.url ENDS WITH ".pdf"',
        {"event": {"properties": {"url": "https://example.com/files/price-list.pdf"}}},
        True,
    ),
    (
        "membership: a list field == a value",
        'profile@segments == "vip"',
        {"profile": {"segments": ["returning", "vip"]}},
        True,
    ),
    (
        "30-day recency with now.offset",
        'datetime(profile@metadata.time.visit.last) > now.offset("-30d")',
        {"profile": {"metadata": {"time": {"visit": {"last": ago(days=40)}}}}},
        False,
    ),
    (
        "datetime.offset on the event time",
        'datetime.offset(event@metadata.time.insert, "+1h") > now()',
        {"event": {"metadata": {"time": {"insert": ago(minutes=30)}}}},
        True,
    ),
    (
        "lowercase(...) ENDS WITH",
        'lowercase(profile@data.contact.email.main) ENDS WITH "@gmail.com"',
        {"profile": {"data": {"contact": {"email": {"main": "Ann.Smith@GMail.COM"}}}}},
        True,
    ),
    (
        "memory and flow fields",
        'memory@score >= 90 AND flow@name == "Onboarding"',
        {"memory": {"score": 92}, "flow": {"id": "f-1", "name": "Onboarding"}},
        True,
    ),
    (
        "a guarded datetime: missing data is false, not an error",
        "profile@data.metrics.last_order NOT EMPTY AND "
        'datetime(profile@data.metrics.last_order) > now.offset("-7d")',
        {"profile": {"data": {"metrics": {}}}},
        False,
    ),
]


@pytest.mark.parametrize(
    ("condition", "documents", "expected"),
    [example[1:] for example in EXAMPLES],
    ids=[example[0] for example in EXAMPLES],
)
def test_tracardi_example(condition: str, documents: dict[str, Any], expected: bool) -> None:
    assert compile_condition(condition).evaluate(documents, now=NOW) is expected


def test_the_examples_turn_with_the_data() -> None:
    """The other side of a few of them, so none is true or false by accident."""
    cases = [
        ("profile@data.pii.age >= 18", {"profile": {"data": {"pii": {"age": 17}}}}, False),
        ("payload@quantity BETWEEN 10 AND 50", {"payload": {"quantity": 51}}, False),
        ("payload@quantity BETWEEN 10 AND 50", {"payload": {"quantity": 10}}, True),
        ("profile@data.pii.middlename EXISTS", {"profile": {"data": {"pii": {}}}}, False),
        ("payload@items NOT EMPTY", {"payload": {"items": ["sku-1"]}}, True),
        ("payload@items NOT EMPTY", {"payload": {}}, False),
        ("payload@description IS NULL", {"payload": {"description": None}}, True),
        ('profile@segments == "vip"', {"profile": {"segments": ["returning"]}}, False),
        (
            'datetime(profile@metadata.time.visit.last) > now.offset("-30d")',
            {"profile": {"metadata": {"time": {"visit": {"last": ago(days=10)}}}}},
            True,
        ),
        (
            'datetime.offset(event@metadata.time.insert, "+1h") > now()',
            {"event": {"metadata": {"time": {"insert": ago(minutes=90)}}}},
            False,
        ),
        (
            "profile@data.metrics.last_order NOT EMPTY AND "
            'datetime(profile@data.metrics.last_order) > now.offset("-7d")',
            {"profile": {"data": {"metrics": {"last_order": ago(days=2)}}}},
            True,
        ),
    ]
    for condition, documents, expected in cases:
        assert compile_condition(condition).evaluate(documents, now=NOW) is expected, condition
