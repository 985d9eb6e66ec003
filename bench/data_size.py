"""The data API at size: load N profiles and M events, then time the reads users wait on.

    python -m bench.data_size                                 # 1,000,000 / 10,000,000
    python -m bench.data_size --profiles 10000 --events 100000 --keep DIR
    python -m bench.data_size --reuse DIR                     # query an existing load

The loader does not go through HTTP: it builds the same documents the collector
builds (`new_profile`, `new_session`, `build_event`), turns them into rows with
the engine's own `visit_rows`, and writes them with `executemany` in large
transactions, as the group-commit writer does, only with bigger batches. That is
the storage bulk path; the collector's own speed is `bench.run`'s business.

The data: sessions start at evenly spread moments over `--days` days (so events
arrive roughly in time order, as they do in production), each belongs to a random
profile (every profile gets at least one), and has a few events of a weighted mix
of types from three sources. A third of the profiles carry an e-mail address and
its identity row, as the identity index would have them.

Then it opens the store with `SQLiteStorage`, the engine `kith serve` uses, and
times: the first and the 10,000th page of one type's events for one day (walking
the cursor through every page in between), stats for a day per hour by type, by
source and by channel, and profile timeline pages. Results go to
`bench/results/<date>-data.{json,md}`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import uuid_utils

from bench._common import markdown_table, percentile, save_results, scratch_dir
from bench.loading import BulkLoader, machine
from kith.domain.clock import iso, micros
from kith.domain.event import build_event
from kith.domain.profile import count_visit, new_profile
from kith.domain.session import new_session
from kith.storage.ports import EventFilter, ProfileQuery, SessionFilter, VisitUnit
from kith.storage.sqlite.engine import SQLiteStorage

START = datetime(2026, 10, 1, tzinfo=UTC)
TYPES = [
    ("page-view", 60),
    ("product-view", 15),
    ("add-to-cart", 8),
    ("search", 7),
    ("identify", 4),
    ("checkout-completed", 3),
    ("sign-in", 3),
]
SOURCES = [("web-shop", "web", 70), ("ios-app", "mobile", 20), ("support", "email", 10)]
GOAL_PAGE_MS = 50.0
GOAL_STATS_MS = 200.0
GOAL_TIMELINE_MS = 20.0


def _weighted(pairs: list[tuple[Any, int]], count: int, rng: random.Random) -> list[Any]:
    population = [value for value, _ in pairs]
    return rng.choices(population, weights=[weight for _, weight in pairs], k=count)


def load(path: Path, profiles: int, events: int, days: int, seed: int) -> dict[str, Any]:
    """Write the data set into a fresh store at `path`; return counts and seconds."""
    loader = BulkLoader(path)
    rng = random.Random(seed)
    sessions = max(profiles, events // 5)
    per_session = events / sessions
    span_us = days * 86_400_000_000
    start_us = micros(START)
    type_pool = _weighted([(t, w) for t, w in TYPES], 100_000, rng)
    source_pool = _weighted([((s, c), w) for s, c, w in SOURCES], 100_000, rng)
    profile_ids = [str(uuid_utils.uuid7()) for _ in range(profiles)]
    owner = list(range(profiles)) + [rng.randrange(profiles) for _ in range(sessions - profiles)]
    rng.shuffle(owner)
    docs: dict[int, dict[str, Any]] = {}
    written_events = 0
    started = time.perf_counter()
    last_report = started
    for number in range(sessions):
        begin = start_us + number * span_us // sessions
        now = iso(datetime.fromtimestamp(begin / 1_000_000, UTC))
        who = owner[number]
        profile = docs.get(who)
        if profile is None:
            pid = profile_ids[who]
            profile = new_profile(pid, now)
            if who % 3 == 0:
                profile["data"]["contact"]["email"]["main"] = f"person{who}@example.com"
                profile["data"]["pii"]["firstname"] = f"First{who}"
            docs[who] = profile
        pid = profile["id"]
        source_id, channel = source_pool[number % len(source_pool)]
        session = new_session(str(uuid_utils.uuid7()), pid, channel, now)
        count_visit(profile, now)
        profile["metadata"]["time"]["update"] = now
        remaining = events - written_events
        left = sessions - number
        drawn = max(1, round(rng.expovariate(1 / per_session)))
        count = remaining if left == 1 else min(remaining, drawn)
        unit = VisitUnit(profile=profile, session=session)
        for index in range(count):
            moment = iso(datetime.fromtimestamp((begin + index * 7_000_000) / 1_000_000, UTC))
            kind = type_pool[(written_events + index) % len(type_pool)]
            unit.events.append(
                build_event(
                    event_id=str(uuid_utils.uuid7()),
                    event_type=kind,
                    source_id=source_id,
                    channel=channel,
                    now=moment,
                    created=None,
                    session=session,
                    profile_id=pid,
                    profile_less=False,
                    properties={"page": f"/p/{(number + index) % 5000}"},
                    context={},
                    tags=["bench"] if index == 0 else [],
                    request={"headers": {}, "ip": None},
                    page=None,
                )
            )
        written_events += count
        identities = [("id", pid, pid)]
        if profile["data"]["contact"]["email"].get("main"):
            identities.append(
                ("data.contact.email.main", profile["data"]["contact"]["email"]["main"], pid)
            )
        unit.identities = identities
        loader.add(unit)
        if time.perf_counter() - last_report > 30:
            last_report = time.perf_counter()
            rate = written_events / (last_report - started)
            print(f"  {written_events:,} events, {number:,} sessions, {rate:,.0f}/s", flush=True)
    loader.finish()
    seconds = time.perf_counter() - started
    size = loader.close()
    return {
        "profiles": profiles,
        "sessions": sessions,
        "events": written_events,
        "days": days,
        "seconds": round(seconds, 1),
        "events_per_s": round(written_events / seconds),
        "bytes": size,
    }


async def _timed(work: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    began = time.perf_counter()
    result = await work()
    return (time.perf_counter() - began) * 1000, result


def sample_profile_ids(path: Path, count: int, rng: random.Random) -> list[str]:
    """Profiles spread over the id range (ids are time-ordered, so over load time)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        total = conn.execute("SELECT max(rowid) FROM profiles").fetchone()[0] or 0
        ids: list[str] = []
        for _ in range(count):
            row = conn.execute(
                "SELECT id FROM profiles WHERE rowid >= ? ORDER BY rowid LIMIT 1",
                (rng.randrange(total) + 1,),
            ).fetchone()
            if row:
                ids.append(row[0])
        return ids
    finally:
        conn.close()


async def measure(path: Path, day: int, pages: int, seed: int) -> dict[str, Any]:
    """Time the data API's storage calls on the loaded store (warm: each runs twice)."""
    storage = SQLiteStorage(path)
    await storage.start()
    try:
        rng = random.Random(seed)
        day_from = START + timedelta(days=day)
        where = EventFilter(type="page-view", from_=day_from, to=day_from + timedelta(days=1))
        first_ms, page = await _timed(lambda: storage.data.list_events(where, None, 50))
        first_ms, page = await _timed(lambda: storage.data.list_events(where, None, 50))
        walk: list[float] = []
        cursor = page.next
        reached = 1
        deepest_ms = 0.0
        deep_cursor: str | None = None
        walk_started = time.perf_counter()
        while cursor and reached < pages:
            ms, page = await _timed(lambda c=cursor: storage.data.list_events(where, c, 50))
            walk.append(ms)
            reached += 1
            deepest_ms, deep_cursor = ms, cursor  # the last page walked (page `pages`)
            if reached == pages:
                again, _ = await _timed(lambda c=cursor: storage.data.list_events(where, c, 50))
                deepest_ms = min(deepest_ms, again)
            cursor = page.next
        walk_seconds = time.perf_counter() - walk_started
        walk.sort()
        stats: dict[str, float] = {}
        stats_max: dict[str, float] = {}
        for by in (None, "type", "source", "channel"):
            await storage.data.event_stats("hour", day_from, day_from + timedelta(days=1), by)
            runs = sorted(
                [
                    (
                        await _timed(
                            lambda b=by: storage.data.event_stats(
                                "hour", day_from, day_from + timedelta(days=1), b
                            )
                        )
                    )[0]
                    for _ in range(5)
                ]
            )
            stats[by or "total"] = round(runs[2], 2)
            stats_max[by or "total"] = round(runs[-1], 2)
        day_stats = await storage.data.event_stats(
            "day", day_from, day_from + timedelta(days=1), None
        )
        ids = sample_profile_ids(path, 200, rng)
        timeline: list[float] = []
        for profile_id in ids:
            ms, _ = await _timed(
                lambda p=profile_id: storage.data.list_events(EventFilter(profile=p), None, 50)
            )
            timeline.append(ms)
        timeline.sort()
        email_ms, found = await _timed(
            lambda: storage.data.search_profiles(ProfileQuery(q="person3@example.com"), None, 50)
        )
        substring: dict[str, list[float]] = {}
        for text in ("first12", "no-such-person"):  # cold (first) and warm (second) cache
            runs = []
            for _ in range(2):
                ms, _ = await _timed(
                    lambda t=text: storage.data.search_profiles(ProfileQuery(q=t), None, 50)
                )
                runs.append(round(ms, 2))
            substring[text] = runs
        sessions_ms, _ = await _timed(lambda: storage.data.list_sessions(SessionFilter(), None, 50))
        erase_ms, erased = await _timed(lambda: storage.erasure.erase_profile(ids[0]))
        return {
            "day": day_from.date().isoformat(),
            "events_that_day": day_stats["buckets"][0]["count"] if day_stats["buckets"] else 0,
            "page_1_ms": round(first_ms, 2),
            "page_reached": reached,
            "page_deep_ms": round(deepest_ms, 2),
            "deep_cursor": deep_cursor,
            "timeline_profile": ids[1] if len(ids) > 1 else None,
            "walk_p50_ms": round(percentile(walk, 0.5), 2),
            "walk_p99_ms": round(percentile(walk, 0.99), 2),
            "walk_seconds": round(walk_seconds, 1),
            "stats_ms": stats,
            "timeline_p50_ms": round(percentile(timeline, 0.5), 2),
            "timeline_p99_ms": round(percentile(timeline, 0.99), 2),
            "timeline_max_ms": round(timeline[-1], 2) if timeline else 0.0,
            "profile_by_email_ms": round(email_ms, 2),
            "profile_by_email_found": len(found.items),
            "stats_max_ms": stats_max,
            "profile_substring_common_ms": substring["first12"],
            "profile_substring_rare_ms": substring["no-such-person"],
            "sessions_page_ms": round(sessions_ms, 2),
            "erase_ms": round(erase_ms, 2),
            "erased": None if erased is None else asdict(erased),
        }
    finally:
        await storage.close()


def over_http(directory: Path, day: int, queries: dict[str, Any]) -> dict[str, float]:
    """The same reads through the admin API (FastAPI app in-process, TestClient):
    what a caller waits for, minus the network. Median of 5 after a warm-up."""
    from fastapi.testclient import TestClient

    from kith.app import build_app
    from kith.config import Settings

    key = "kith_benchadmin_" + "0" * 24
    settings = Settings(data_dir=directory, bootstrap_admin_key=key, log_level="warning")
    day_from = (START + timedelta(days=day)).isoformat()
    day_to = (START + timedelta(days=day + 1)).isoformat()
    window = {"type": "page-view", "from": day_from, "to": day_to}
    urls: dict[str, tuple[str, dict[str, str]]] = {
        "events_page_1": ("/api/events", window),
        "events_page_deep": ("/api/events", {**window, "cursor": queries["deep_cursor"] or ""}),
        "stats_day_by_type": (
            "/api/events/stats",
            {"interval": "hour", "from": day_from, "to": day_to, "by": "type"},
        ),
        "timeline_page": (f"/api/profiles/{queries['timeline_profile']}/events", {}),
    }
    timings: dict[str, float] = {}
    with TestClient(build_app(settings)) as client:
        headers = {"Authorization": f"Bearer {key}"}
        for name, (url, params) in urls.items():
            runs = []
            for _ in range(6):
                began = time.perf_counter()
                response = client.get(url, params=params, headers=headers)
                runs.append((time.perf_counter() - began) * 1000)
                assert response.status_code == 200, response.text
            timings[name] = round(sorted(runs[1:])[2], 2)
    return timings


def report(result: dict[str, Any]) -> str:
    loaded = result.get("load") or {}
    q = result["queries"]
    rows = [
        ["events of one type, one day: page 1", f"{q['page_1_ms']:.2f}", f"< {GOAL_PAGE_MS:.0f}"],
        [
            f"same, page {q['page_reached']:,}",
            f"{q['page_deep_ms']:.2f}",
            f"< {GOAL_PAGE_MS:.0f}",
        ],
        ["same, every page walked: p50 / p99", f"{q['walk_p50_ms']} / {q['walk_p99_ms']}", ""],
    ]
    for by, ms in q["stats_ms"].items():
        worst = q["stats_max_ms"][by]
        rows.append(
            [
                f"stats for a day, hourly, by {by}: median / max of 5",
                f"{ms:.2f} / {worst:.2f}",
                f"< {GOAL_STATS_MS:.0f}",
            ]
        )
    rows.append(
        [
            "profile timeline page: p50 / p99 / max",
            f"{q['timeline_p50_ms']} / {q['timeline_p99_ms']} / {q['timeline_max_ms']}",
            f"< {GOAL_TIMELINE_MS:.0f}",
        ]
    )
    rows += [
        ["profile search by exact e-mail (identity index)", f"{q['profile_by_email_ms']:.2f}", ""],
        [
            "profile search, substring with many matches: cold / warm",
            " / ".join(f"{ms:.2f}" for ms in q["profile_substring_common_ms"]),
            "",
        ],
        [
            "profile search, substring matching nobody (full scan): cold / warm",
            " / ".join(f"{ms:.2f}" for ms in q["profile_substring_rare_ms"]),
            "",
        ],
        ["sessions, first page", f"{q['sessions_page_ms']:.2f}", ""],
        [f"erase one person ({q['erased']})", f"{q['erase_ms']:.2f}", ""],
    ]
    http = result.get("http") or {}
    if http:
        rows += [
            ["over HTTP: events page 1", f"{http['events_page_1']:.2f}", f"< {GOAL_PAGE_MS:.0f}"],
            [
                f"over HTTP: events page {q['page_reached']:,}",
                f"{http['events_page_deep']:.2f}",
                f"< {GOAL_PAGE_MS:.0f}",
            ],
            [
                "over HTTP: stats for a day by type",
                f"{http['stats_day_by_type']:.2f}",
                f"< {GOAL_STATS_MS:.0f}",
            ],
            [
                "over HTTP: profile timeline page",
                f"{http['timeline_page']:.2f}",
                f"< {GOAL_TIMELINE_MS:.0f}",
            ],
        ]
    lines = [
        f"# Data API at size ({result['date']}, commit {result['commit']})",
        "",
        f"Machine: {result['machine']}; SQLite {result['sqlite']}.",
        "",
    ]
    if loaded:
        lines += [
            f"Loaded {loaded['profiles']:,} profiles, {loaded['sessions']:,} sessions and "
            f"{loaded['events']:,} events over {loaded['days']} days in {loaded['seconds']:,} s "
            f"({loaded['events_per_s']:,} events/s; store {loaded['bytes'] / 1e9:.1f} GB).",
            "",
        ]
    lines += [
        f"Queried day {q['day']} ({q['events_that_day']:,} events). Times are the storage "
        "call as the API makes it (query plus JSON decoding of the page), warm cache, in ms; "
        "the last rows are the same reads through the admin API in-process (median of 5).",
        "",
        markdown_table(["query", "ms", "goal"], rows),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reuse", type=Path, help="query the store in this directory; no load")
    parser.add_argument("--keep", type=Path, help="load into this directory and keep it")
    parser.add_argument("--name", default="data", help="results file suffix")
    args = parser.parse_args(argv)

    result: dict[str, Any] = {
        "date": datetime.now(UTC).date().isoformat(),
        **machine(),
    }
    scratch: Path | None = None
    if args.reuse:
        directory = args.reuse
        recorded = directory / "load.json"
        if recorded.exists():  # written by the run that loaded it
            result["load"] = orjson.loads(recorded.read_bytes())
    else:
        directory = args.keep or scratch_dir("data-")
        scratch = None if args.keep else directory
        directory.mkdir(parents=True, exist_ok=True)
        print(f"loading into {directory}", flush=True)
        result["load"] = load(
            directory / "kith.db", args.profiles, args.events, args.days, args.seed
        )
        (directory / "load.json").write_bytes(orjson.dumps(result["load"]))
        print(f"loaded: {result['load']}", flush=True)
    try:
        result["queries"] = asyncio.run(
            measure(directory / "kith.db", args.days // 2, args.pages, args.seed)
        )
        result["http"] = over_http(directory, args.days // 2, result["queries"])
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    save_results(result, report(result), args.name)


if __name__ == "__main__":
    main()
