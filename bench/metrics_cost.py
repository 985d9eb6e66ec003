"""What `/metrics` costs the collector: new visitors with metrics on and off, same run.

    python -m bench.metrics_cost                  # 4 rounds of on/off, 5 s each
    python -m bench.metrics_cost --rounds 6 --seconds 10
    python -m bench.metrics_cost --in-process     # no HTTP, no wrk: CPU per request only
    python -m bench.metrics_cost --in-process --against control   # the A/A check
    python -m bench.metrics_cost --hooks          # the CPU spent in the metrics hooks alone

Each round starts `kith serve` twice on a fresh store, once with `KITH_METRICS=true`
and once with `KITH_METRICS=false` (the order alternates, on-off then off-on, so a
drift of the shared machine falls on both), warms up, then runs the `new_visitor`
scenario. Beside requests per second it records the server's CPU time per request
(user + system from `/proc/<pid>/stat`, before and after the measured run), which
a noisy neighbour disturbs much less than throughput. The server is pinned to core
0 and wrk to core 1 as in `bench.run`; with metrics on, `/metrics` is scraped once a
second during the run (Prometheus scrapes every 15 s or so: this is the harsh case).

`--in-process` builds both apps in this process and drives each through ASGI with
64 requests in flight, alternating batches of `--requests` between them many
times (with metrics on, a scrape after a batch when `--scrape-every` seconds have
passed); the process's CPU time per request is then the only figure, and the one
least disturbed by other work on the machine (no wrk, no sockets, no scheduler
hand-offs between two processes).

`--hooks` runs the metrics-on app alone and times, with the thread's CPU clock, each
call of the request path's metrics hooks (the request histogram; tallying the
unit's events before the commit and adding the tally after it) and each scrape,
less the cost of the timing itself (measured on an empty function called beside
them): the hooks' share of the CPU per request, which the noise of a shared
machine cannot hide the way it hides a 2% difference between two whole runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import statistics
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._common import call, scratch_dir
from bench.run import (
    NEW_VISITOR,
    LoadShape,
    can_pin,
    create_source,
    free_port,
    kith_env,
    kith_serve_command,
    process_tree,
    require_wrk,
    run_wrk,
    say,
    serve,
    wait_healthz,
)
from kith.app import KithApp, build_app, tune_garbage_collector
from kith.config import Settings

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` and its descendants (all their threads)."""
    total = 0
    for each in process_tree(pid):
        try:
            with open(f"/proc/{each}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total / CLOCK_TICKS


@dataclass(frozen=True, slots=True)
class Measured:
    metrics: bool
    requests_per_s: float
    cpu_us_per_request: float
    p99_ms: float
    scrapes: int


class Scraper:
    """Scrapes `/metrics` every `every` seconds while a run lasts."""

    def __init__(self, url: str, key: str, every: float) -> None:
        self._request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.count = 0

    def __enter__(self) -> Scraper:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            with urllib.request.urlopen(self._request, timeout=5) as response:
                response.read()
            self.count += 1


def measure(metrics: bool, shape: LoadShape, scratch: Path, scrape_every: float) -> Measured:
    port = free_port()
    key = "bench-" + secrets.token_urlsafe(24)
    data_dir = scratch / f"store-{secrets.token_hex(4)}"
    env = {**kith_env(key), "KITH_METRICS": str(metrics).lower()}
    command = kith_serve_command(port, data_dir, shape)
    with serve(f"kith-metrics-{metrics}", command, env, port, scratch) as server:
        wait_healthz(server)
        create_source(server, key)
        url = server.base_url + "/track"
        seed = secrets.randbits(31)
        run_wrk(NEW_VISITOR, url, shape.warmup, seed, shape)
        before = cpu_seconds(server.proc.pid)
        if metrics:
            with Scraper(server.base_url + "/metrics", key, scrape_every) as scraper:
                report = run_wrk(NEW_VISITOR, url, shape.seconds, seed + 1, shape)
            scrapes = scraper.count
        else:
            report = run_wrk(NEW_VISITOR, url, shape.seconds, seed + 1, shape)
            scrapes = 0
        used = cpu_seconds(server.proc.pid) - before
    shutil.rmtree(data_dir, ignore_errors=True)
    seconds = report["duration_us"] / 1e6
    return Measured(
        metrics=metrics,
        requests_per_s=report["requests"] / seconds,
        cpu_us_per_request=used / report["requests"] * 1e6,
        p99_ms=report["latency_us"]["p99"] / 1000,
        scrapes=scrapes,
    )


def summary(runs: list[Measured]) -> str:
    lines = [
        "| metrics | runs | req/s (median) | CPU us/request (median) | p99 ms (median) |",
        "|---|---|---|---|---|",
    ]
    medians: dict[bool, tuple[float, float]] = {}
    for metrics in (False, True):
        mine = [run for run in runs if run.metrics is metrics]
        rps = statistics.median(run.requests_per_s for run in mine)
        cpu = statistics.median(run.cpu_us_per_request for run in mine)
        p99 = statistics.median(run.p99_ms for run in mine)
        medians[metrics] = (rps, cpu)
        name = "on" if metrics else "off"
        lines.append(f"| {name} | {len(mine)} | {rps:,.0f} | {cpu:,.1f} | {p99:.1f} |")
    (rps_off, cpu_off), (rps_on, cpu_on) = medians[False], medians[True]
    # each round ran on and off back to back: the ratio within a round cancels most of
    # what the rest of the machine does, so its median is the steadier estimate
    paired = statistics.median(
        (a if a.metrics else b).cpu_us_per_request / (b if a.metrics else a).cpu_us_per_request
        for a, b in zip(runs[::2], runs[1::2], strict=True)
    )
    lines.append("")
    lines.append(
        f"throughput with metrics: {rps_on / rps_off - 1:+.1%};"
        f" CPU per request: {cpu_on / cpu_off - 1:+.1%} ({cpu_on - cpu_off:+.1f} us);"
        f" median of the rounds' CPU ratios: {paired - 1:+.1%}"
    )
    return "\n".join(lines)


USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/131.0.0.0 Safari/537.36"
)
EVENTS = (
    b'[{"type":"page-view","properties":{},"context":{"page":{"url":'
    b'"https://shop.example.com/shoes/runner?utm_source=newsletter","title":"Runner shoes"}}},'
    b'{"type":"product-view","properties":{"sku":"RUN-42","price":89.9}},'
    b'{"type":"add-to-cart","properties":{"sku":"RUN-42","price":89.9,"quantity":1}}]'
)


def new_visitor(session: str) -> bytes:
    """The new_visitor scenario's shape: a fresh session, three events."""
    return (
        b'{"source":{"id":"bench-web"},"session":{"id":"' + session.encode() + b'"},'
        b'"context":{"utm":{"source":"newsletter","medium":"email"}},"events":' + EVENTS + b"}"
    )


async def post(app: KithApp, path: str, body: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    return await call(app, "POST", path, body, headers)


async def drive(app: KithApp, requests: int, prefix: str) -> None:
    headers = [(b"content-type", b"application/json"), (b"user-agent", USER_AGENT.encode())]
    queue = iter(range(requests))

    async def connection() -> None:
        for n in queue:
            status = await post(app, "/track", new_visitor(f"{prefix}-{n}"), headers)
            assert status == 200, status

    await asyncio.gather(*(connection() for _ in range(64)))


async def in_process(
    rounds: int, requests: int, scratch: Path, scrape_every: float, against: str = "off"
) -> list[Measured]:
    """`against`: what the metrics-on app is compared with: `off` (metrics off), `hooks`
    (metrics on, its request-path hooks removed), `control` (both apps off: the
    harness's own noise, an A/A check)."""
    key = "bench-" + secrets.token_urlsafe(24)
    apps: dict[bool, KithApp] = {}
    for metrics in (True, False):
        on = (metrics or against == "hooks") and against != "control"
        settings = Settings(
            data_dir=scratch / f"store-{metrics}", bootstrap_admin_key=key, metrics=on
        )
        apps[metrics] = build_app(settings)
    if against == "hooks":
        apps[False].state.collector.observe = None
        apps[False].state.services.tracker.stored = None
    runs: list[Measured] = []
    on, off = apps[True], apps[False]
    tune_garbage_collector()  # as `kith serve` does
    scraped = 0.0
    async with on.router.lifespan_context(on), off.router.lifespan_context(off):
        for app in apps.values():
            source = b'{"id":"bench-web","bridges":["rest"]}'
            auth = [(b"authorization", f"Bearer {key}".encode())]
            json = [(b"content-type", b"application/json")]
            assert await post(app, "/api/sources", source, auth + json) == 201
            await drive(app, requests, "warm")
        for round_ in range(rounds):
            for metrics in (True, False) if round_ % 2 == 0 else (False, True):
                cpu, wall = time.process_time(), time.perf_counter()
                await drive(apps[metrics], requests, f"r{round_}")
                if metrics and wall - scraped >= scrape_every and against != "control":
                    await on.state.services.metrics.exposition()
                    scraped = wall
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                run = Measured(metrics, requests / wall, cpu / requests * 1e6, 0.0, 0)
                runs.append(run)
                say(
                    f"round {round_ + 1} metrics={'on' if metrics else 'off'}:"
                    f" {run.cpu_us_per_request:,.1f} us CPU per request"
                )
    return runs


class HookClock:
    """Thread CPU time spent in wrapped calls, by name."""

    def __init__(self) -> None:
        self.spent: dict[str, int] = {}

    def wrap(self, name: str, call: Any) -> Any:
        clock = time.thread_time_ns
        self.spent[name] = 0

        def timed(*args: Any) -> Any:
            started = clock()
            try:
                return call(*args)
            finally:
                self.spent[name] += clock() - started

        return timed


async def hooks(requests: int, scratch: Path, scrape_every: float) -> str:
    key = "bench-" + secrets.token_urlsafe(24)
    app = build_app(Settings(data_dir=scratch / "store", bootstrap_admin_key=key))
    timing = HookClock()
    collector, tracker = app.state.collector, app.state.services.tracker
    collector.observe = timing.wrap("request histogram", collector.observe)
    tally = timing.wrap("stored events: tally", tracker.stored.tally)
    tracker.stored.add = timing.wrap("stored events: add", tracker.stored.add)
    empty = timing.wrap("timing itself", lambda events: None)

    def tallied(events: Any) -> Any:
        empty(events)
        return tally(events)

    tracker.stored.tally = tallied
    async with app.router.lifespan_context(app):
        source = b'{"id":"bench-web","bridges":["rest"]}'
        auth = [
            (b"authorization", f"Bearer {key}".encode()),
            (b"content-type", b"application/json"),
        ]
        assert await post(app, "/api/sources", source, auth) == 201
        await drive(app, 1000, "warm")
        tune_garbage_collector()
        timing.spent = dict.fromkeys(timing.spent, 0)
        scrape_ns = scrapes = 0
        cpu, last = time.process_time(), time.perf_counter()
        for batch in range(requests // 500):
            await drive(app, 500, f"b{batch}")
            if time.perf_counter() - last >= scrape_every:
                started = time.thread_time_ns()
                await app.state.services.metrics.exposition()
                scrape_ns += time.thread_time_ns() - started
                scrapes += 1
                last = time.perf_counter()
        done = requests // 500 * 500
        per_request = (time.process_time() - cpu) / done * 1e6
    overhead = timing.spent.pop("timing itself") / done / 1000
    lines = [f"{done} new visitors, {per_request:,.1f} us CPU per request", ""]
    lines += ["| hook | us per request | share of the CPU per request |", "|---|---|---|"]
    total = 0.0
    for name, spent in timing.spent.items():
        net = max(0.0, spent / done / 1000 - overhead)
        total += net
        lines.append(f"| {name} | {net:.2f} | {net / per_request:.2%} |")
    scrape = scrape_ns / done / 1000
    total += scrape
    share = scrape / per_request
    lines.append(f"| {scrapes} scrapes, one per {scrape_every:g} s | {scrape:.2f} | {share:.2%} |")
    lines.append(f"| all | {total:.2f} | {total / per_request:.2%} |")
    lines.append("")
    lines.append(f"(timing one call costs {overhead:.2f} us; taken off each hook's figure)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.metrics_cost", description=__doc__)
    parser.add_argument("--rounds", type=int, default=4, help="on/off pairs (default 4)")
    parser.add_argument("--seconds", type=int, default=5, help="per measured run (default 5)")
    parser.add_argument("--warmup", type=int, default=2, help="per warm-up (default 2)")
    parser.add_argument("--scrape-every", type=float, default=1.0, help="seconds (default 1)")
    parser.add_argument("--in-process", action="store_true", help="ASGI calls, CPU time only")
    parser.add_argument("--requests", type=int, default=2000, help="per in-process batch")
    parser.add_argument("--hooks", action="store_true", help="CPU in the metrics hooks alone")
    parser.add_argument(
        "--against",
        choices=["off", "hooks", "control"],
        default="off",
        help="with --in-process: metrics off (default), metrics on without the request-path"
        " hooks, or both off (an A/A check of the harness)",
    )
    args = parser.parse_args(argv)
    scratch = scratch_dir("metrics-cost-")
    if args.hooks:
        try:
            print(asyncio.run(hooks(max(500, args.requests), scratch, args.scrape_every)))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return 0
    if args.in_process:
        try:
            runs = asyncio.run(
                in_process(args.rounds, args.requests, scratch, args.scrape_every, args.against)
            )
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        print(summary(runs))
        return 0
    require_wrk()
    shape = LoadShape(args.seconds, args.warmup, 64, 2, can_pin())
    runs: list[Measured] = []
    try:
        for round_ in range(args.rounds):
            order = (True, False) if round_ % 2 == 0 else (False, True)
            for metrics in order:
                run = measure(metrics, shape, scratch, args.scrape_every)
                say(
                    f"round {round_ + 1} metrics={'on' if metrics else 'off'}:"
                    f" {run.requests_per_s:,.0f} req/s, {run.cpu_us_per_request:,.1f} us CPU"
                    f" per request, p99 {run.p99_ms:.1f} ms, {run.scrapes} scrapes"
                )
                runs.append(run)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(summary(runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
