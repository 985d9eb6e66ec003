"""The group-commit writer alone, without HTTP: how many units of work per second one
SQLite writer thread commits, and how many units it packs into each commit.

Each unit inserts one realistic event row (an ~800-byte JSON document, UUIDv7 id)
into a fresh, migrated SQLite file. `tasks` asyncio tasks submit units in a loop,
each awaiting its own unit's commit before sending the next one, like concurrent
HTTP requests do.

    python -m bench.writer                      # markdown table (5 s per cell)
    python -m bench.writer --json --seconds 2   # the same as JSON
    python -m bench.writer --drop-indexes events_type_time,events_source_time,events_channel_time
                                                # what those indexes cost the writer
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import sqlite3
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, Literal, TypedDict

import orjson

from bench._common import markdown_table, percentile, scratch_dir
from kith.domain.clock import iso, utcnow
from kith.domain.ids import new_id
from kith.storage.sqlite.core import connect, migrate_file
from kith.storage.sqlite.writer import GroupCommitWriter

Synchronous = Literal["full", "normal"]

CONCURRENCY: tuple[int, ...] = (1, 64, 512)
SYNCHRONOUS: tuple[Synchronous, ...] = ("full", "normal")
DEFAULT_SECONDS = 5.0

_INSERT = (
    "INSERT INTO events (id, profile_id, session_id, type, source_id, time, status, doc)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


class WriterResult(TypedDict):
    synchronous: str
    tasks: int
    units: int
    commits: int
    seconds: float
    units_per_s: float
    units_per_commit: float
    p50_ms: float
    p99_ms: float
    max_ms: float


def event_template(session_id: str, profile_id: str) -> dict[str, Any]:
    """An event document shaped like the ones the collector stores (~800 bytes as JSON)."""
    now = iso(utcnow())
    return {
        "id": "",
        "type": "product-view",
        "name": "Product View",
        "metadata": {
            "time": {"insert": now, "create": now},
            "status": "collected",
            "valid": True,
            "error": None,
            "profile_less": False,
            "channel": "web",
        },
        "source": {"id": "bench-web"},
        "session": {"id": session_id},
        "profile": {"id": profile_id},
        "properties": {"sku": "RUN-42", "name": "Runner", "price": 89.9, "currency": "EUR"},
        "context": {},
        "tags": [],
        "request": {"headers": {"accept-language": "pl-PL"}, "ip": "203.0.113.7"},
        "hit": {
            "url": "https://shop.example.com/shoes/runner",
            "title": "Runner shoes",
            "referer": None,
        },
        "os": {"name": "Windows", "version": "10"},
        "app": {"type": "browser", "name": "Chrome", "version": "131.0.0"},
        "device": {"type": "desktop"},
        "utm": {"source": "newsletter", "medium": "email"},
    }


def _unit(event: dict[str, Any], at: int) -> Callable[[sqlite3.Connection], None]:
    """One unit of work: serialise the document and insert its row (as the engine does)."""

    def work(conn: sqlite3.Connection) -> None:
        conn.execute(
            _INSERT,
            (
                event["id"],
                event["profile"]["id"],
                event["session"]["id"],
                event["type"],
                event["source"]["id"],
                at,
                event["metadata"]["status"],
                orjson.dumps(event).decode(),
            ),
        )

    return work


async def _submitter(
    writer: GroupCommitWriter,
    template: dict[str, Any],
    deadline: float | None,
    left: list[int],
    latencies: list[float],
) -> None:
    clock = time.perf_counter
    while True:
        if deadline is not None:
            if clock() >= deadline:
                return
        else:
            if left[0] <= 0:
                return
            left[0] -= 1
        event = dict(template)
        event["id"] = new_id()
        unit = _unit(event, time.time_ns() // 1000)
        start = clock()
        await writer.submit(unit)
        latencies.append(clock() - start)


async def _measure(
    path: Path, synchronous: Synchronous, tasks: int, seconds: float | None, units: int | None
) -> WriterResult:
    writer = GroupCommitWriter(lambda: connect(path, synchronous=synchronous))
    writer.start()
    latencies: list[float] = []
    template = event_template(new_id(), new_id())
    try:
        start = time.perf_counter()
        deadline = start + seconds if seconds is not None else None
        left = [units or 0]
        await asyncio.gather(
            *(_submitter(writer, template, deadline, left, latencies) for _ in range(tasks))
        )
        elapsed = time.perf_counter() - start
    finally:
        writer.close()
    latencies.sort()
    committed, commits = writer.units, writer.commits
    if committed != len(latencies):
        raise RuntimeError(f"{len(latencies)} units acknowledged but {committed} committed")
    return WriterResult(
        synchronous=synchronous,
        tasks=tasks,
        units=committed,
        commits=commits,
        seconds=round(elapsed, 3),
        units_per_s=round(committed / elapsed, 1),
        units_per_commit=round(committed / commits, 2) if commits else 0.0,
        p50_ms=round(percentile(latencies, 0.50) * 1000, 3),
        p99_ms=round(percentile(latencies, 0.99) * 1000, 3),
        max_ms=round((latencies[-1] if latencies else 0.0) * 1000, 3),
    )


def _run_loop(coro: Coroutine[Any, Any, WriterResult]) -> WriterResult:
    """Run on uvloop when it is installed, as `kith serve` does."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def run_one(
    synchronous: Synchronous,
    tasks: int,
    *,
    seconds: float | None = DEFAULT_SECONDS,
    units: int | None = None,
    drop: tuple[str, ...] = (),
) -> WriterResult:
    """One cell: a fresh migrated file, `tasks` submitters, for `seconds` or `units` total."""
    if (seconds is None) == (units is None):
        raise ValueError("give exactly one of seconds or units")
    directory = scratch_dir("writer-")
    try:
        path = directory / "kith.db"
        migrate_file(path)
        if drop:
            with contextlib.closing(sqlite3.connect(path)) as conn:
                for index in drop:
                    conn.execute(f'DROP INDEX "{index}"')
                conn.commit()
        return _run_loop(_measure(path, synchronous, tasks, seconds, units))
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def run_all(
    *,
    seconds: float | None = DEFAULT_SECONDS,
    units: int | None = None,
    concurrency: tuple[int, ...] = CONCURRENCY,
    synchronous: tuple[Synchronous, ...] = SYNCHRONOUS,
    progress: Callable[[str], None] | None = None,
    drop: tuple[str, ...] = (),
) -> list[WriterResult]:
    results: list[WriterResult] = []
    for sync in synchronous:
        for tasks in concurrency:
            if progress is not None:
                progress(f"writer: synchronous={sync} tasks={tasks}")
            results.append(run_one(sync, tasks, seconds=seconds, units=units, drop=drop))
    return results


def to_markdown(results: list[WriterResult]) -> str:
    headers = ["synchronous", "tasks", "units/s", "units/commit", "p50 ms", "p99 ms", "units"]
    rows = [
        [
            r["synchronous"],
            str(r["tasks"]),
            f"{r['units_per_s']:,.0f}",
            f"{r['units_per_commit']:.1f}",
            f"{r['p50_ms']:.2f}",
            f"{r['p99_ms']:.2f}",
            f"{r['units']:,}",
        ]
        for r in results
    ]
    return markdown_table(headers, rows)


def _csv_ints(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def _csv_sync(text: str) -> tuple[Synchronous, ...]:
    values: list[Synchronous] = []
    for part in text.split(","):
        part = part.strip().lower()
        if part == "full":
            values.append("full")
        elif part == "normal":
            values.append("normal")
        elif part:
            raise argparse.ArgumentTypeError(f"synchronous must be full or normal, not {part!r}")
    return tuple(values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.writer", description=__doc__)
    amount = parser.add_mutually_exclusive_group()
    amount.add_argument("--seconds", type=float, help=f"per cell (default {DEFAULT_SECONDS})")
    amount.add_argument("--units", type=int, help="a fixed number of units per cell instead")
    parser.add_argument("--concurrency", type=_csv_ints, default=CONCURRENCY)
    parser.add_argument("--synchronous", type=_csv_sync, default=SYNCHRONOUS)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--drop-indexes",
        type=lambda text: tuple(part.strip() for part in text.split(",") if part.strip()),
        default=(),
        help="indexes to drop after migrating (an experiment: what they cost the writer)",
    )
    args = parser.parse_args(argv)
    seconds = None if args.units else (args.seconds or DEFAULT_SECONDS)
    results = run_all(
        seconds=seconds,
        units=args.units,
        concurrency=args.concurrency,
        synchronous=args.synchronous,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
        drop=args.drop_indexes,
    )
    if args.json:
        print(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode())
    else:
        print(to_markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
