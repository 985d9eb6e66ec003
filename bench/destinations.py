"""Destinations under load: how fast one process delivers, and what it costs the collector.

    python -m bench.destinations                 # all three parts
    python -m bench.destinations --parts send    # deliveries per second only

Three figures, each from a fresh `kith serve` (SQLite, pinned to core 0) and the
receiver of `bench/receiver.py` (its own process, pinned to core 1):

1. **send**: deliveries per second to a fast webhook receiver. 30,000 events are
   queued (each event one delivery, its body the default `{event, profile}`), then
   the receiver's count is read over a window while the queue is still full.
2. **send + timeout**: the same with a second destination, matching the same
   events, whose receiver never answers (every attempt times out after 2 s): the
   fast destination's rate beside it. Goal: at least 0.9x the first.
3. **collector**: wrk's `new_visitor` scenario (`bench/run.py`) with no destination,
   then with one `on: event` webhook destination for `page-view` (one delivery a
   request), each on a fresh server; requests per second of each. Goal: at least
   0.85x. The deliveries are sent during the run (the sender shares the core).

Results: `bench/results/<date>-destinations.{json,md}`. Environment:
`KITH_BENCH_SECONDS` (default 10, the collector runs and the send windows),
`KITH_BENCH_DELIVERIES` (default 30,000).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
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


def send_rate(shape: LoadShape, scratch: Path, total: int, with_timeout: bool) -> dict[str, Any]:
    """Deliveries per second to the fast receiver (beside a timing-out one if asked)."""
    name = "send-beside-timeout" if with_timeout else "send"
    port = free_port()
    key = "bench-" + secrets.token_urlsafe(24)
    data_dir = scratch / f"{name}-data"
    with (
        receiver(shape, scratch) as target,
        serve(name, kith_serve_command(port, data_dir, shape), kith_env(key), port, scratch) as s,
    ):
        wait_healthz(s)
        create_source(s, key)
        hook = {"kind": "webhook", "event_types": ["bench"]}
        put_destination(s, key, "fast", {**hook, "config": {"url": f"{target.base_url}/hook"}})
        if with_timeout:
            put_destination(
                s,
                key,
                "times-out",
                {**hook, "config": {"url": f"{target.base_url}/hang", "timeout": 2}},
            )
        time.sleep(1.5)  # the sender picks the destinations up
        say(f"{name}: queueing {total} deliveries per destination")
        loading = queue_events(s, total)
        time.sleep(1.0)
        first, t0 = counts(target)["hook"], time.monotonic()
        window = min(float(shape.seconds), 10.0)
        time.sleep(window)
        last, t1 = counts(target)["hook"], time.monotonic()
        if last >= total:
            raise BenchError(f"{name}: the queue ran dry inside the window; queue more")
        rate = (last - first) / (t1 - t0)
        hung = counts(target)["hang"]
        say(f"{name}: {rate:,.0f} deliveries/s (timing-out attempts started: {hung})")
        return {
            "part": name,
            "deliveries_per_s": round(rate, 1),
            "window_s": round(t1 - t0, 2),
            "queued": total,
            "queue_seconds": round(loading, 2),
            "timeout_attempts": hung,
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
            results, _ = bench_kith(
                shape,
                scratch,
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
    beside = parts.get("send-beside-timeout")
    if send:
        value = send["deliveries_per_s"]
        checks.append(
            {
                "goal": f"deliveries >= {GOAL_SEND_PER_S:,.0f}/s",
                "measured": value,
                "met": value >= GOAL_SEND_PER_S,
            }
        )
    if send and beside:
        ratio = beside["deliveries_per_s"] / send["deliveries_per_s"]
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
    sends = [parts[name] for name in ("send", "send-beside-timeout") if parts.get(name)]
    if sends:
        lines += [
            markdown_table(
                ["part", "deliveries/s", "window s", "timing-out attempts", "peak RSS MB"],
                [
                    [
                        p["part"],
                        f"{p['deliveries_per_s']:,.0f}",
                        str(p["window_s"]),
                        str(p["timeout_attempts"]),
                        str(p["peak_rss_mb"]),
                    ]
                    for p in sends
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
    parser.add_argument("--parts", default="send,timeout,collector")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    wanted = {p.strip() for p in args.parts.split(",") if p.strip()}
    seconds = int(_env_number("KITH_BENCH_SECONDS", 10))
    total = int(_env_number("KITH_BENCH_DELIVERIES", 30_000))
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
            results["parts"]["send"] = send_rate(shape, scratch, total, with_timeout=False)
        if "timeout" in wanted:
            results["parts"]["send-beside-timeout"] = send_rate(
                shape, scratch, total, with_timeout=True
            )
        if "collector" in wanted:
            require_wrk()
            results["parts"]["collector"] = collector(shape, scratch)
    except (BenchError, OSError, subprocess.SubprocessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        import shutil

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
