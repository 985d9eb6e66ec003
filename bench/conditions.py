"""The condition language alone: evaluations per second of a compiled condition
over a realistic profile, and how long parsing and compiling takes.

    python -m bench.conditions            # markdown table
    python -m bench.conditions --json     # the same as JSON

Goal (bench/README.md): at least 500,000 evaluations per second on one core for a
3-clause condition over a ~2 kB profile. Each figure is the best of several
rounds, so a neighbour's burst on this shared machine does not count against it."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from bench._common import markdown_table
from kith.conditions import compile_condition
from kith.conditions.compile import compile_node
from kith.conditions.parse import parse_condition

THREE_CLAUSES = (
    'profile@stats.visits > 3 AND profile@data.contact.email.main ENDS WITH "@example.com" '
    'AND profile@traits.plan IN ["pro", "enterprise"]'
)
TIME_CLAUSES = (
    'profile@stats.visits > 3 AND datetime(profile@metadata.time.visit.last) > now.offset("-30d") '
    'AND profile@traits.plan == "pro"'
)


def twenty_clauses() -> str:
    """A 20-clause condition using every kind of clause, nested once."""
    clauses = [
        "profile@stats.visits > 3",
        'profile@data.contact.email.main ENDS WITH "@example.com"',
        'profile@traits.plan IN ["pro", "enterprise"]',
        "profile@data.pii.firstname EXISTS",
        "profile@data.pii.lastname NOT EMPTY",
        "profile@traits.score BETWEEN 10 AND 100",
        'lowercase(profile@data.pii.firstname) STARTS WITH "a"',
        'datetime(profile@metadata.time.visit.last) > now.offset("-30d")',
        "profile@consents.marketing.granted == true",
        "profile@data.metrics.ltv >= 100.5",
        'profile@segments CONTAINS "vip"',
        'profile@traits["favourite colour"] != "red"',
        "profile@data.devices.last IS NOT NULL",
        'event@type == "page-view"',
        'session@utm.source <> "spam"',
        "len(profile@segments) < 10",
        "profile@aux.flag IS NULL",
        'profile@traits.tier NOT IN ["banned", "test"]',
        "NOT profile@traits.blocked == true",
        'datetime.offset(event@metadata.time.insert, "+1h") > now()',
    ]
    first, second = " AND ".join(clauses[:10]), " AND ".join(clauses[10:])
    return f"({first}) OR ({second})"


def profile() -> dict[str, Any]:
    """A ~2 kB profile shaped like a stored one."""
    document: dict[str, Any] = {
        "id": "0190f0c4-3b9e-7d51-9a4e-0c1f2e3d4a5b",
        "ids": ["0190f0c4-3b9e-7d51-9a4e-0c1f2e3d4a5b", "0190f0c4-aaaa-7d51-9a4e-0c1f2e3d4a5b"],
        "metadata": {
            "time": {
                "create": "2026-01-01T10:00:00+00:00",
                "insert": "2026-01-01T10:00:00+00:00",
                "update": "2026-11-20T10:00:00+00:00",
                "visit": {
                    "last": "2026-11-19T10:00:00+00:00",
                    "current": "2026-11-20T10:00:00+00:00",
                    "count": 12,
                    "tz": "Europe/Warsaw",
                },
            },
            "fields": {f"data.pii.field{i}": {"time": "2026-11-20T10:00:00"} for i in range(6)},
        },
        "stats": {"visits": 12, "views": 140, "counters": {"clicks": 31, "scrolls": 77}},
        "traits": {"plan": "pro", "score": 42, "favourite colour": "blue", "tier": "gold"},
        "segments": ["vip", "newsletter", "returning"],
        "interests": {"running": 4, "shoes": 2, "outdoor": 1},
        "consents": {"marketing": {"granted": True, "time": "2026-02-01T00:00:00+00:00"}},
        "computed": {},
        "data": {
            "pii": {"firstname": "Anna", "lastname": "Nowak", "birthday": "1990-04-01"},
            "contact": {"email": {"main": "anna@example.com"}, "phone": {"main": "+48123456789"}},
            "identifier": {"id": "C-10042"},
            "devices": {"last": {"name": "iPhone", "os": "iOS 18"}},
            "media": {},
            "preferences": {"language": "pl", "currency": "PLN"},
            "job": {"company": "Acme", "position": "Engineer"},
            "metrics": {"ltv": 1234.5, "orders": 7, "last_order": "2026-11-01T12:00:00+00:00"},
            "loyalty": {"points": 930, "card": "GOLD-1234"},
        },
        "active": True,
        "aux": {"source": "import", "notes": "x" * 470},
    }
    return document


def evaluations_per_second(text: str, scope: dict[str, Any], seconds: float) -> float:
    """The best rate of five rounds of about `seconds / 5` each."""
    condition = compile_condition(text)
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    evaluate = condition.evaluate
    assert evaluate(scope, now=now) is True, text
    batch = 10_000
    best = 0.0
    for _ in range(5):
        count = 0
        started = time.perf_counter()
        while (elapsed := time.perf_counter() - started) < seconds / 5:
            for _ in range(batch):
                evaluate(scope, now=now)
            count += batch
        best = max(best, count / elapsed)
    return best


def best_time(action: Callable[[], object], repeat: int) -> float:
    """The fastest of `repeat` runs, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return best


def measure(seconds: float) -> dict[str, Any]:
    scope = {"profile": profile(), "event": {"type": "page-view"}, "session": {}}
    text = twenty_clauses()
    parse_condition(text)  # build the parser once: its construction is not per condition
    return {
        "profile_bytes": len(orjson.dumps(scope["profile"])),
        "three_clauses_per_second": evaluations_per_second(THREE_CLAUSES, scope, seconds),
        "three_clauses_with_time_per_second": evaluations_per_second(TIME_CLAUSES, scope, seconds),
        "twenty_clauses_per_second": evaluations_per_second(text, scope, seconds),
        "twenty_clauses_parse_ms": best_time(lambda: parse_condition(text), 20) * 1000,
        "twenty_clauses_parse_compile_ms": best_time(
            lambda: compile_node(parse_condition(text)), 20
        )
        * 1000,
        "twenty_clauses_characters": len(text),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per evaluation figure")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    result = measure(args.seconds)
    if args.json:
        sys.stdout.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    rows = [
        ["3 clauses (goal ≥ 500,000/s)", f"{result['three_clauses_per_second']:,.0f} /s"],
        [
            "3 clauses, one reading the clock",
            f"{result['three_clauses_with_time_per_second']:,.0f} /s",
        ],
        ["20 clauses", f"{result['twenty_clauses_per_second']:,.0f} /s"],
        ["parse 20 clauses (uncached)", f"{result['twenty_clauses_parse_ms']:.2f} ms"],
        [
            "parse + compile 20 clauses (uncached)",
            f"{result['twenty_clauses_parse_compile_ms']:.2f} ms",
        ],
    ]
    print(
        f"profile: {result['profile_bytes']} bytes of JSON; 20-clause text: "
        f"{result['twenty_clauses_characters']} characters\n"
    )
    print(markdown_table(["measure", "one core"], rows))


if __name__ == "__main__":
    main()
