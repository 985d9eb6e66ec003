"""Destinations under load: how fast one process delivers, and what it costs the collector.

    python -m bench.destinations                 # both parts
    python -m bench.destinations --parts send    # deliveries per second only

`kith serve` (SQLite) is pinned to core 0 and the receiver of `bench/receiver.py`
(its own process) to core 1, with wrk when it runs.

1. **send**: 80,000 `bench` events are queued, each making one delivery to a fast
   webhook receiver (body: the default `{event, profile}`) and one to a destination
   whose receiver never answers (every attempt times out after 2 s). Then, in
   alternating windows of one server, the timing-out destination is disabled
   ("alone") and enabled ("beside"), and the fast receiver's count gives the
   deliveries per second of each window; the figures are the medians. Goals: at
   least 2,000/s alone, and beside at least 0.9x alone.
2. **collector**: wrk's `new_visitor` scenario (`bench/run.py`) with no destination,
   then with one `on: event` webhook destination for `page-view` (one delivery a
   request), each on a fresh server; requests per second of each. Goal: at least
   0.85x. The deliveries are sent during the run: the sender shares the core.

Results: `bench/results/<date>-destinations.{json,md}`. Environment:
`KITH_BENCH_SECONDS` (default 10: the collector runs; the send windows are at most
5 s), `KITH_BENCH_DELIVERIES` (default 80,000 events), `KITH_BENCH_PAIRS` (3).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench._common import RESULTS_DIR, markdown_table, scratch_dir
from bench.run import (
    CLIENT_CORE,
    SERVER_CORE,
    BenchError,
    LoadShape,
    Server,
    _cpu_model,
    _env_number,
    _git_commit,
    bench_kith,
    can_pin,
    create_source,
    free_port,
    http_json,
    kith_env,
    kith_serve_command,
    pinned,
    require_wrk,
    say,
    serve,
    wait_healthz,
    wait_tcp,
)

GOAL_SEND_PER_S = 2000.0
GOAL_BESIDE_TIMEOUT = 0.9
GOAL_COLLECTOR = 0.85
EVENTS_PER_PAYLOAD = 1000
PAYLOADS_PER_REQUEST = 5


@contextlib.contextmanager
def receiver(shape: LoadShape, scratch: Path) -> Iterator[Server]:
    port = free_port()
    command = [*pinned(CLIENT_CORE, shape), sys.executable, "-m", "bench.receiver"]
    with serve("receiver", [*command, "--port", str(port)], dict(os.environ), port, scratch) as s:
        wait_tcp(s)
        yield s


def counts(target: Server) -> dict[str, int]:
    status, body = http_json("GET", f"{target.base_url}/count")
    if status != 200:
        raise BenchError(f"the receiver answered HTTP {status}")
    return dict(body)


def put_destination(server: Server, key: str, destination_id: str, body: dict[str, Any]) -> None:
    status, answer = http_json(
        "PUT",
        f"{server.base_url}/api/destinations/{destination_id}",
        body,
        {"Authorization": f"Bearer {key}"},
    )
    if status != 200:
        raise BenchError(f"PUT destination {destination_id} answered HTTP {status}: {answer!r}")


def queue_events(server: Server, total: int) -> float:
    """Send `total` `bench` events in big `PUT /track` batches; seconds it took."""
    started = time.monotonic()
    payload = {
        "source": {"id": "bench-web"},
        "events": [{"type": "bench", "properties": {"n": n}} for n in range(EVENTS_PER_PAYLOAD)],
    }
    sent = 0
    while sent < total:
        batch = [payload] * min(PAYLOADS_PER_REQUEST, (total - sent) // EVENTS_PER_PAYLOAD or 1)
        status, answer = http_json("PUT", f"{server.base_url}/track", batch)
        if status != 200:
            raise BenchError(f"PUT /track answered HTTP {status}: {str(answer)[:300]}")
        sent += len(batch) * EVENTS_PER_PAYLOAD
    return time.monotonic() - started


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its threads so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def window_rate(target: Server, server: Server, seconds: float) -> tuple[float, float]:
    """Deliveries per second over a window, and the server's CPU microseconds per
    delivery (a figure that a busy neighbour on this shared machine inflates less)."""
    first, started = counts(target)["hook"], time.monotonic()
    cpu = cpu_seconds(server.proc.pid)
    time.sleep(seconds)
    sent = counts(target)["hook"] - first
    used = cpu_seconds(server.proc.pid) - cpu
    return sent / (time.monotonic() - started), used / max(1, sent) * 1e6


def send_rates(shape: LoadShape, scratch: Path, total: int, pairs: int) -> dict[str, Any]:
    """Deliveries per second to the fast receiver, alone and beside a destination whose
    every attempt times out, in alternating windows of one server (so a neighbour's
    burst on this shared machine hits both figures alike); medians of the windows."""
    port = free_port()
    key = "bench-" + secrets.token_urlsafe(24)
    data_dir = scratch / "send-data"
    command = kith_serve_command(port, data_dir, shape)
    window = max(2.0, min(float(shape.seconds), 5.0))
    with (
        receiver(shape, scratch) as target,
        serve("send", command, kith_env(key), port, scratch) as s,
    ):
        wait_healthz(s)
        create_source(s, key)
        hook = {"kind": "webhook", "event_types": ["bench"]}
        put_destination(s, key, "fast", {**hook, "config": {"url": f"{target.base_url}/hook"}})
        slow = {**hook, "config": {"url": f"{target.base_url}/hang", "timeout": 2}}
        put_destination(s, key, "times-out", slow)
        time.sleep(1.5)  # the sender picks the destinations up
        say(f"send: queueing {total} events, a delivery to each destination for each")
        loading = queue_events(s, total)
        alone: list[float] = []
        beside: list[float] = []
        cpu_alone: list[float] = []
        cpu_beside: list[float] = []
        enabled = True
        # A B B A A B ...: a rate that drifts over the run weighs on both alike
        for turn in range(2 * pairs):
            want = turn % 4 in (1, 2)
            if want != enabled:
                put_destination(s, key, "times-out", {**slow, "enabled": want})
                enabled = want
                time.sleep(3.0)  # a lane stops once its attempts in flight timed out
            rate, micros = window_rate(target, s, window)
            (beside if enabled else alone).append(rate)
            (cpu_beside if enabled else cpu_alone).append(micros)
            label = "beside a timing-out destination" if enabled else "alone"
            say(f"send: {label}: {rate:,.0f} deliveries/s, {micros:,.0f} us CPU each")
        delivered = counts(target)["hook"]
        if delivered >= total:
            raise BenchError("the queue ran dry before the last window; queue more")
        return {
            "alone_per_s": round(statistics.median(alone), 1),
            "beside_timeout_per_s": round(statistics.median(beside), 1),
            "alone_cpu_us": round(statistics.median(cpu_alone), 1),
            "beside_cpu_us": round(statistics.median(cpu_beside), 1),
            "alone_windows": [round(r, 1) for r in alone],
            "beside_windows": [round(r, 1) for r in beside],
            "window_s": window,
            "queued_events": total,
            "queue_seconds": round(loading, 2),
            "timeout_attempts": counts(target)["hang"],
            "peak_rss_mb": s.peak_rss_mb(),
        }


def collector(shape: LoadShape, scratch: Path) -> list[dict[str, Any]]:
    """new_visitor req/s with no destination, then with one page-view webhook."""
    rows = []
    with receiver(shape, scratch) as target:

        def add_destination(server: Server, key: str) -> None:
            put_destination(
                server,
                key,
                "page-views",
                {
                    "kind": "webhook",
                    "on": "event",
                    "event_types": ["page-view"],
                    "config": {"url": f"{target.base_url}/hook"},
                },
            )
            time.sleep(1.5)

        for label, prepare in (
            ("no destination", None),
            ("one webhook destination", add_destination),
        ):
            before = counts(target)["hook"]
            run_dir = scratch / ("with-destination" if prepare else "without")
            run_dir.mkdir()
            results, _ = bench_kith(
                shape,
                run_dir,
                None,
                only=("new_visitor",),
                name="kith-dest" if prepare else "kith",
                prepare=prepare,
            )
            time.sleep(2.0)
            delivered = counts(target)["hook"] - before
            result = results[0]
            rows.append(
                {
                    "part": f"collector, {label}",
                    "requests_per_s": result["requests_per_s"],
                    "p99_ms": result["p99_ms"],
                    "errors": result["error_total"],
                    "delivered_during_run": delivered,
                    "peak_rss_mb": result["peak_rss_mb"],
                }
            )
            say(f"collector, {label}: {result['requests_per_s']:,.0f} req/s")
    return rows


def goals(parts: dict[str, Any]) -> list[dict[str, Any]]:
    checks = []
    send = parts.get("send")
    if send:
        value = send["alone_per_s"]
        checks.append(
            {
                "goal": f"deliveries >= {GOAL_SEND_PER_S:,.0f}/s",
                "measured": value,
                "met": value >= GOAL_SEND_PER_S,
            }
        )
        ratio = send["beside_timeout_per_s"] / value if value else 0.0
        checks.append(
            {
                "goal": f"beside a timing-out destination >= {GOAL_BESIDE_TIMEOUT}x",
                "measured": round(ratio, 3),
                "met": ratio >= GOAL_BESIDE_TIMEOUT,
            }
        )
    rows = parts.get("collector") or []
    if len(rows) == 2:
        ratio = rows[1]["requests_per_s"] / rows[0]["requests_per_s"]
        checks.append(
            {
                "goal": f"collector with a destination >= {GOAL_COLLECTOR}x",
                "measured": round(ratio, 3),
                "met": ratio >= GOAL_COLLECTOR,
            }
        )
    return checks


def to_markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = [
        f"# Destinations benchmark, {meta['date']}",
        "",
        f"Commit {meta['commit']}, {meta['cpu']}, server pinned: {meta['pinned']}.",
        "",
    ]
    parts = results["parts"]
    send = parts.get("send")
    if send:
        lines += [
            markdown_table(
                ["fast webhook receiver", "deliveries/s (median)", "windows", "CPU us each"],
                [
                    [
                        "alone",
                        f"{send['alone_per_s']:,.0f}",
                        ", ".join(f"{r:,.0f}" for r in send["alone_windows"]),
                        f"{send['alone_cpu_us']:,.0f}",
                    ],
                    [
                        "beside a destination that always times out",
                        f"{send['beside_timeout_per_s']:,.0f}",
                        ", ".join(f"{r:,.0f}" for r in send["beside_windows"]),
                        f"{send['beside_cpu_us']:,.0f}",
                    ],
                ],
            ),
            "",
        ]
    if parts.get("collector"):
        lines += [
            markdown_table(
                ["part", "req/s", "p99 ms", "errors", "delivered during the run"],
                [
                    [
                        r["part"],
                        f"{r['requests_per_s']:,.0f}",
                        str(r["p99_ms"]),
                        str(r["errors"]),
                        f"{r['delivered_during_run']:,}",
                    ]
                    for r in parts["collector"]
                ],
            ),
            "",
        ]
    lines += [
        markdown_table(
            ["goal", "measured", ""],
            [
                [g["goal"], str(g["measured"]), "met" if g["met"] else "missed"]
                for g in results["goals"]
            ],
        ),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.destinations",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--parts", default="send,collector")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    wanted = {p.strip() for p in args.parts.split(",") if p.strip()}
    seconds = int(_env_number("KITH_BENCH_SECONDS", 10))
    total = int(_env_number("KITH_BENCH_DELIVERIES", 80_000))
    pairs = int(_env_number("KITH_BENCH_PAIRS", 3))
    shape = LoadShape(
        seconds=seconds,
        warmup=int(_env_number("KITH_BENCH_WARMUP", min(3, seconds))),
        connections=int(_env_number("KITH_BENCH_CONNECTIONS", 64)),
        threads=int(_env_number("KITH_BENCH_THREADS", 2)),
        pin=can_pin(),
    )
    results: dict[str, Any] = {
        "meta": {
            "date": datetime.now().date().isoformat(),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "commit": _git_commit(),
            "cpu": _cpu_model(),
            "pinned": shape.pin,
            "server_core": SERVER_CORE,
            "seconds": seconds,
        },
        "parts": {},
    }
    scratch = scratch_dir("destinations-")
    try:
        if "send" in wanted:
            results["parts"]["send"] = send_rates(shape, scratch, total, pairs)
        if "collector" in wanted:
            require_wrk()
            results["parts"]["collector"] = collector(shape, scratch)
    except (BenchError, OSError, subprocess.SubprocessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    results["goals"] = goals(results["parts"])
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stem = args.out_dir / f"{results['meta']['date']}-destinations"
    stem.with_suffix(".json").write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    text = to_markdown(results)
    stem.with_suffix(".md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
