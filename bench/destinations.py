"""Destinations under load: how fast one process delivers, and what it costs the collector.

    python -m bench.destinations                 # both parts
    python -m bench.destinations --parts send    # deliveries per second only

`kith serve` (SQLite) is pinned to core 0 and the receiver of `bench/receiver.py`
(its own process) to core 1, with wrk when it runs.

1. **send**: 160,000 `bench` events are queued, each making one delivery to a fast
   webhook receiver (body: the default `{event, profile}`) and one to a destination
   whose receiver never answers (every attempt times out after 2 s). Then, in
   alternating windows of one server, the timing-out destination is disabled
   ("alone") and enabled ("beside"), and the fast receiver's count gives the
   deliveries per second of each window; the figures are the medians. Goals: at
   least 2,000/s alone, and beside at least 0.9x alone.
2. **collector**: wrk's `new_visitor` scenario (`bench/run.py`) on a fresh server
   with no destination, then on another with one `on: event` webhook destination for
   `page-view` (one delivery a request), alternating for `KITH_BENCH_ROUNDS` rounds;
   medians of requests per second and of the server's CPU time per request. Goal: at
   least 0.85x. The deliveries are sent during the run on the same core; what is
   still pending when wrk stops, and how long it takes to drain, are reported.

Results: `bench/results/<date>-destinations.{json,md}`. Environment:
`KITH_BENCH_SECONDS` (default 10: the collector runs; the send windows are at most
5 s), `KITH_BENCH_DELIVERIES` (default 160,000 events), `KITH_BENCH_PAIRS` (3),
`KITH_BENCH_ROUNDS` (3).
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
from bench.features import cpu_seconds as process_cpu_seconds
from bench.run import (
    CLIENT_CORE,
    NEW_VISITOR,
    SERVER_CORE,
    BenchError,
    LoadShape,
    Server,
    _cpu_model,
    _env_number,
    _git_commit,
    can_pin,
    create_source,
    free_port,
    http_json,
    kith_env,
    kith_serve_command,
    pinned,
    require_wrk,
    run_wrk,
    say,
    serve,
    summarise,
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


def window_rate(target: Server, server: Server, seconds: float) -> tuple[float, float]:
    """Deliveries per second over a window, and the server's CPU microseconds per
    delivery (a figure that a busy neighbour on this shared machine inflates less)."""
    first, started = counts(target)["hook"], time.monotonic()
    cpu = process_cpu_seconds(server.proc.pid)
    time.sleep(seconds)
    sent = counts(target)["hook"] - first
    used = process_cpu_seconds(server.proc.pid) - cpu
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


def pending(server: Server, key: str, destination_id: str) -> int:
    status, body = http_json(
        "GET",
        f"{server.base_url}/api/destinations/{destination_id}",
        None,
        {"Authorization": f"Bearer {key}"},
    )
    if status != 200:
        raise BenchError(f"GET destination {destination_id} answered HTTP {status}")
    return int(body["stats"]["pending"])


def measure_collector(
    label: str, target: Server | None, shape: LoadShape, scratch: Path
) -> dict[str, Any]:
    """new_visitor on a fresh server, with a page-view webhook to `target` when given."""
    port = free_port()
    key = "bench-" + secrets.token_urlsafe(24)
    data = scratch / f"{label}-{secrets.token_hex(4)}"
    command = kith_serve_command(port, data, shape)
    with serve(f"kith-{label}", command, kith_env(key), port, scratch) as server:
        wait_healthz(server)
        create_source(server, key)
        if target is not None:
            hook = {"url": f"{target.base_url}/hook"}
            body = {"kind": "webhook", "event_types": ["page-view"], "config": hook}
            put_destination(server, key, "page-views", body)
        time.sleep(1.5)  # configuration caches settle, the lane starts
        url = server.base_url + "/track"
        if shape.warmup:
            run_wrk(NEW_VISITOR, url, shape.warmup, secrets.randbits(31), shape)
        sent = counts(target)["hook"] if target is not None else 0
        cpu = process_cpu_seconds(server.proc.pid)
        report = run_wrk(NEW_VISITOR, url, shape.seconds, secrets.randbits(31), shape)
        cpu = process_cpu_seconds(server.proc.pid) - cpu
        result = dict(summarise(label, "kith", NEW_VISITOR, report, None, None, 0))
        result["cpu_us_per_request"] = round(cpu / max(report["requests"], 1) * 1e6, 1)
        if target is not None:
            result["delivered_during_run"] = counts(target)["hook"] - sent
            result["backlog_at_end"] = pending(server, key, "page-views")
            started = time.monotonic()
            while pending(server, key, "page-views") and time.monotonic() - started < 300:
                time.sleep(0.25)
            result["drain_s"] = round(time.monotonic() - started, 2)
        return result


def collector(shape: LoadShape, scratch: Path, rounds: int) -> dict[str, Any]:
    """new_visitor req/s with no destination and with one page-view webhook, on fresh
    servers, alternating for `rounds` rounds; medians."""
    runs: dict[str, list[dict[str, Any]]] = {"none": [], "webhook": []}
    with receiver(shape, scratch) as target:
        for round_ in range(rounds):
            for label, to in (("none", None), ("webhook", target)):
                say(f"collector: round {round_ + 1}, {label}")
                runs[label].append(measure_collector(label, to, shape, scratch))
                say(f"collector: {label}: {runs[label][-1]['requests_per_s']:,.0f} req/s")

    def median(label: str, name: str) -> float:
        return round(statistics.median(r[name] for r in runs[label]), 1)

    summary = {
        label: {
            "requests_per_s": median(label, "requests_per_s"),
            "cpu_us_per_request": median(label, "cpu_us_per_request"),
            "p99_ms": median(label, "p99_ms"),
            "errors": sum(r["error_total"] for r in runs[label]),
        }
        for label in runs
    }
    for name in ("delivered_during_run", "backlog_at_end", "drain_s"):
        summary["webhook"][name] = median("webhook", name)
    return {"summary": summary, "runs": runs}


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
    found = parts.get("collector")
    if found:
        rows = found["summary"]
        ratio = rows["webhook"]["requests_per_s"] / rows["none"]["requests_per_s"]
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
        rows = parts["collector"]["summary"]
        hook = rows["webhook"]
        lines += [
            markdown_table(
                ["new_visitor", "req/s (median)", "CPU us/request", "p99 ms", "errors"],
                [
                    [
                        label,
                        f"{r['requests_per_s']:,.0f}",
                        f"{r['cpu_us_per_request']:,.0f}",
                        str(r["p99_ms"]),
                        str(r["errors"]),
                    ]
                    for label, r in (
                        ("no destination", rows["none"]),
                        ("one page-view webhook", hook),
                    )
                ],
            ),
            "",
            f"With the webhook: {hook['delivered_during_run']:,.0f} deliveries during the"
            f" measured run, {hook['backlog_at_end']:,.0f} pending at its end, all delivered"
            f" {hook['drain_s']} s later (medians).",
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
    total = int(_env_number("KITH_BENCH_DELIVERIES", 160_000))
    pairs = int(_env_number("KITH_BENCH_PAIRS", 3))
    rounds = int(_env_number("KITH_BENCH_ROUNDS", 3))
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
            results["parts"]["collector"] = collector(shape, scratch, rounds)
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
