"""One benchmark run: the bare-Starlette baseline, Kith's wrk scenarios and the writer alone.

    python -m bench.run                      # everything, 10 s per scenario
    KITH_BENCH_SECONDS=3 python -m bench.run # a quick run
    python -m bench.run --parts baseline,writer

The server under test is pinned to core 0 and wrk to core 1 (when `taskset` exists
and there are two cores), so the client does not steal the server's CPU. Results land
in `bench/results/<date>-sqlite.{json,md,png}`.

Environment: `KITH_BENCH_SECONDS` (default 10) per measured scenario,
`KITH_BENCH_WARMUP` (default 3) per warm-up, `KITH_BENCH_WRITER_SECONDS` (default
half the scenario time, at most 5) per writer cell, `KITH_BENCH_CONNECTIONS` (64),
`KITH_BENCH_THREADS` (2), `KITH_BENCH_TMP` (scratch directory parent).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NotRequired, TypedDict

import orjson

from bench import writer as writer_bench
from bench._common import BENCH_DIR, REPO_DIR, RESULTS_DIR, markdown_table, scratch_dir
from bench.baseline import UVICORN_OPTIONS

SCENARIOS_DIR = BENCH_DIR / "scenarios"
NEW_VISITOR = SCENARIOS_DIR / "new_visitor.lua"
RETURNING_VISITOR = SCENARIOS_DIR / "returning_visitor.lua"
BULK = SCENARIOS_DIR / "bulk.lua"
WEBHOOK_GET = SCENARIOS_DIR / "webhook_get.lua"
PUT_BATCH = SCENARIOS_DIR / "put_batch.lua"
IDENTIFY = SCENARIOS_DIR / "identify.lua"
SEGMENT_BATCH = SCENARIOS_DIR / "segment_batch.lua"
#: Sessions each wrk thread keeps in returning_visitor.lua and webhook_get.lua (POOL).
RETURNING_POOL = 1000
SOURCE = {"id": "bench-web", "name": "Bench", "bridges": ["rest", "webhook"]}
SEGMENT_SOURCE = {"id": "bench-segment", "name": "Bench (Segment API)", "bridges": ["segment"]}

GOAL_RATIO = 0.25
"""The synchronous path (new_visitor) against the bare endpoint (issue 20: 2.5x 0.1x)."""
GOAL_ASYNC_RATIO = 0.5
"""Async storage (async_visitor) against the bare endpoint."""
GOAL_BATCH_VS_SINGLE = 3.0
"""PUT /track payloads/s against new_visitor's single-payload requests/s."""
GOAL_P99_MS = 25.0
GOAL_BULK_EVENTS_PER_S = 50_000.0
GOAL_LOADED_VS_EMPTY = 0.8
"""At 1M profiles / 10M events, throughput at least 0.8x the empty store's."""
SIZE_SCENARIOS = ("new_visitor", "returning_visitor")
GOAL_IDENTIFY_VS_PAGE_VIEWS = 0.7
"""Identify-heavy traffic may be at most 30% slower than new visitors' page views."""
GOAL_SEGMENT_VS_BULK = 1.0
"""The Segment API's batches store at least as many events/s as `/track` bulk payloads."""


@dataclass(frozen=True, slots=True)
class KithScenario:
    """One wrk scenario run against Kith.

    `variant` is the hex digit the script puts at the start of the fourth group of
    its session ids (see `_common.uuid`), so its rows can be told apart in the store.
    With `pooled`, the warm-up runs the script with the measured run's seed until
    every thread walked its pool of RETURNING_POOL sessions once; otherwise the
    warm-up is one run with another seed (fresh ids). `events_per_session` is how many
    of the payloads' events each fresh session gets (None: all of a request's).
    `timeout` is wrk's `--timeout` in seconds (None: wrk's default, 2 s); latencies
    above it are not recorded by wrk but counted as timeout errors. `source` is the
    source the script sends as; one other than `bench-web` has its rows to itself,
    so they are found by source, not by the variant of Kith-minted session ids.
    """

    name: str
    script: Path
    path: str
    variant: str
    pooled: bool = False
    events_per_session: int | None = None
    timeout: int | None = None
    source: str = "bench-web"
    options: str | None = None
    """The payload's `options` (JSON), for scripts that read KITH_BENCH_OPTIONS."""

    @property
    def is_async(self) -> bool:
        return self.options is not None and '"async":true' in self.options.replace(" ", "")

    def wrk_env(self) -> dict[str, str]:
        if self.options is None:
            return {}
        return {"KITH_BENCH_OPTIONS": self.options, "KITH_BENCH_VARIANT": self.variant}


KITH_SCENARIOS = (
    KithScenario("new_visitor", NEW_VISITOR, "/track", "8"),
    # the new-visitor payload with `options.async`: acknowledged after a one-row append;
    # the run is followed by the wait for the processor to empty the log
    KithScenario("async_visitor", NEW_VISITOR, "/track", "7", options='{"async":true}'),
    KithScenario("returning_visitor", RETURNING_VISITOR, "/track", "9", pooled=True),
    KithScenario("identify", IDENTIFY, "/track", "d"),
    KithScenario("bulk", BULK, "/track", "a"),
    # right after bulk, which it is compared with; 10 people of 10 messages a request
    KithScenario(
        "segment_batch",
        SEGMENT_BATCH,
        "/v1/batch",
        "e",
        events_per_session=10,
        timeout=10,
        source="bench-segment",
    ),
    # the script builds each path itself; wrk only needs a URL on the host
    KithScenario("webhook_get", WEBHOOK_GET, "/collect/page-view/bench-web", "b", pooled=True),
    # 50 payloads handled one after another: ~1.5 s a request at -c64, close to 2 s
    KithScenario("put_batch", PUT_BATCH, "/track", "c", events_per_session=1, timeout=10),
)

SERVER_CORE = 0
CLIENT_CORE = 1


# results --------------------------------------------------------------------------------
class Errors(TypedDict):
    connect: int
    read: int
    write: int
    status: int
    timeout: int


class Latency(TypedDict):
    min: float
    mean: float
    max: float
    stdev: float
    p50: float
    p90: float
    p95: float
    p99: float


class WrkReport(TypedDict):
    """The JSON line the scenarios' done() prints (times in microseconds)."""

    requests: int
    duration_us: int
    bytes: int
    events_per_request: int
    errors: Errors
    latency_us: Latency


class ScenarioResult(TypedDict):
    scenario: str
    server: str
    script: str
    seconds: float
    requests: int
    requests_per_s: float
    events_per_s: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    errors: Errors
    error_total: int
    ratio_to_baseline: float | None
    peak_rss_mb: float | None
    warmup_requests: int
    cpu_ms_per_request: float | None
    """The server's CPU time (user + system, all its processes) per answered request:
    less disturbed by other work on a shared machine than the rate is."""
    processing_per_s: NotRequired[float]
    """Async scenarios: payloads accepted in the run / (run + time to empty the log)."""
    drain_s: NotRequired[float]
    cpu_ms_per_payload_processed: NotRequired[float]
    half_load_per_s: NotRequired[float]
    half_load_max_lag_s: NotRequired[float]
    half_load_p99_ms: NotRequired[float]


@dataclass(frozen=True, slots=True)
class LoadShape:
    seconds: int
    warmup: int
    connections: int
    threads: int
    pin: bool


# processes ------------------------------------------------------------------------------
def pinned(core: int, shape: LoadShape) -> list[str]:
    return ["taskset", "-c", str(core)] if shape.pin else []


def can_pin() -> bool:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    return shutil.which("taskset") is not None and cores >= 2


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A server process we started, in its own process group, logging to a file."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path
    sampler: RssSampler = field(init=False)

    def __post_init__(self) -> None:
        self.sampler = RssSampler(self.proc.pid)
        self.sampler.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def check_alive(self) -> None:
        code = self.proc.poll()
        if code is not None:
            raise BenchError(
                f"{self.name} exited with code {code} before it was ready; its log:\n"
                + self.log_tail()
            )

    def peak_rss_mb(self) -> float | None:
        peak = max(self.sampler.peak_kb, high_water_kb(self.proc.pid))
        return round(peak / 1024, 1) if peak else None

    def stop(self) -> None:
        self.sampler.stop()
        if self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)


class BenchError(RuntimeError):
    pass


@contextlib.contextmanager
def serve(
    name: str, command: Sequence[str], env: dict[str, str], port: int, log_dir: Path
) -> Iterator[Server]:
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            list(command),
            cwd=REPO_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(name, port, proc, log_path)
    try:
        yield server
    finally:
        server.stop()


def wait_tcp(server: Server, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        server.check_alive()
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", server.port), timeout=1),
        ):
            return
        time.sleep(0.1)
    raise BenchError(f"{server.name} did not accept connections in {timeout:.0f} s")


def wait_healthz(server: Server, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        server.check_alive()
        try:
            status, body = http_json("GET", f"{server.base_url}/healthz")
        except OSError as exc:
            last = str(exc)
        else:
            if status == 200 and isinstance(body, dict):
                return body
            last = f"HTTP {status}: {body!r}"
        time.sleep(0.2)
    raise BenchError(f"{server.name} /healthz not ready in {timeout:.0f} s ({last})")


def http_json(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    data = orjson.dumps(body) if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        return status, raw.decode(errors="replace")


# memory ---------------------------------------------------------------------------------
def _status_kb(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (a server may fork workers)."""
    found = [pid]
    index = 0
    while index < len(found):
        current = found[index]
        index += 1
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    found.extend(int(child) for child in children.read().split())
        except OSError:
            continue
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process tree so far (threads included)."""
    ticks = 0
    for each in process_tree(pid):
        try:
            with open(f"/proc/{each}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, ValueError, IndexError):
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


def high_water_kb(pid: int) -> int:
    """The largest VmHWM (peak resident set) in the process tree."""
    return max((_status_kb(p, "VmHWM") for p in process_tree(pid)), default=0)


class RssSampler:
    """Polls the summed VmRSS of a process tree; `peak_kb` is the largest seen."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = sum(_status_kb(p, "VmRSS") for p in process_tree(self.pid))
            self.peak_kb = max(self.peak_kb, rss)
            self._stop.wait(self.interval)


# wrk ------------------------------------------------------------------------------------
def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise BenchError(
            "wrk is not installed. Install it with `apt-get install -y wrk` "
            "(`make bench` does this for you), then run again."
        )
    return path


def wrk_version() -> str:
    done = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    first = (done.stdout or done.stderr).splitlines()
    return first[0].split(" Copyright")[0].strip() if first else "unknown"


def run_wrk(
    script: Path,
    url: str,
    seconds: int,
    seed: int,
    shape: LoadShape,
    timeout: int | None = None,
    *extra: str,
    env: dict[str, str] | None = None,
) -> WrkReport:
    command = [
        *pinned(CLIENT_CORE, shape),
        "wrk",
        f"-t{shape.threads}",
        f"-c{shape.connections}",
        f"-d{seconds}s",
        *([f"--timeout={timeout}s"] if timeout else []),
        "--latency",
        "-s",
        str(script),
        url,
        "--",
        str(seed),
        *extra,
    ]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=seconds + (timeout or 0) + 60,
        check=False,
        env={**os.environ, **env} if env else None,
    )
    for line in done.stdout.splitlines():
        if line.startswith("JSON:"):
            report: WrkReport = orjson.loads(line.removeprefix("JSON:"))
            return report
    raise BenchError(
        f"wrk gave no JSON summary (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
    )


def error_total(errors: Errors) -> int:
    return (
        errors["connect"] + errors["read"] + errors["write"] + errors["status"] + errors["timeout"]
    )


def summarise(
    scenario: str,
    server: str,
    script: Path,
    report: WrkReport,
    baseline_rps: float | None,
    peak_rss_mb: float | None,
    warmup_requests: int,
    cpu_seconds: float | None = None,
) -> ScenarioResult:
    seconds = report["duration_us"] / 1e6
    rps = report["requests"] / seconds if seconds else 0.0
    answered = report["requests"] - report["errors"]["status"]
    eps = answered * report["events_per_request"] / seconds if seconds else 0.0
    latency = report["latency_us"]
    return ScenarioResult(
        scenario=scenario,
        server=server,
        script=str(script.relative_to(REPO_DIR)),
        seconds=round(seconds, 3),
        requests=report["requests"],
        requests_per_s=round(rps, 1),
        events_per_s=round(eps, 1),
        p50_ms=round(latency["p50"] / 1000, 3),
        p90_ms=round(latency["p90"] / 1000, 3),
        p95_ms=round(latency["p95"] / 1000, 3),
        p99_ms=round(latency["p99"] / 1000, 3),
        max_ms=round(latency["max"] / 1000, 3),
        errors=report["errors"],
        error_total=error_total(report["errors"]),
        ratio_to_baseline=round(rps / baseline_rps, 3) if baseline_rps else None,
        peak_rss_mb=peak_rss_mb,
        warmup_requests=warmup_requests,
        cpu_ms_per_request=(
            round(cpu_seconds * 1000 / answered, 3)
            if cpu_seconds is not None and answered
            else None
        ),
    )


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# the parts ------------------------------------------------------------------------------
def bench_baseline(shape: LoadShape, scratch: Path) -> ScenarioResult:
    port = free_port()
    command = [
        *pinned(SERVER_CORE, shape),
        sys.executable,
        "-m",
        "uvicorn",
        "bench.baseline:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *UVICORN_OPTIONS,
    ]
    with serve("baseline", command, dict(os.environ), port, scratch) as server:
        wait_tcp(server)
        url = f"{server.base_url}/track"
        seed = secrets.randbits(31)
        say(f"baseline: warm-up {shape.warmup} s")
        warm = run_wrk(NEW_VISITOR, url, shape.warmup, seed, shape) if shape.warmup else None
        say(f"baseline: new_visitor payloads for {shape.seconds} s")
        report = run_wrk(NEW_VISITOR, url, shape.seconds, seed + 1, shape)
        return summarise(
            "baseline",
            "bare Starlette",
            NEW_VISITOR,
            report,
            None,
            server.peak_rss_mb(),
            warm["requests"] if warm else 0,
        )


def kith_command() -> list[str]:
    sibling = Path(sys.executable).with_name("kith")
    if sibling.exists():
        return [str(sibling)]
    found = shutil.which("kith")
    if found is None:
        raise BenchError("the `kith` command is not installed; run `make bench` (pip install -e .)")
    return [found]


def kith_serve_command(port: int, data_dir: Path, shape: LoadShape) -> list[str]:
    """`kith serve` on 127.0.0.1:`port`, pinned to the server core when the shape pins."""
    return [
        *pinned(SERVER_CORE, shape),
        *kith_command(),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]


def kith_env(admin_key: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"KITH_STORAGE_URL", "KITH_HOST", "KITH_PORT", "KITH_DATA_DIR", "KITH_WORKERS"}
    }
    env["KITH_BOOTSTRAP_ADMIN_KEY"] = admin_key
    env.setdefault("KITH_LOG_LEVEL", "warning")
    return env


def create_source(server: Server, admin_key: str) -> None:
    for source in (SOURCE, SEGMENT_SOURCE):
        status, body = http_json(
            "POST",
            f"{server.base_url}/api/sources",
            source,
            {"Authorization": f"Bearer {admin_key}"},
        )
        if status not in (200, 201, 409):
            raise BenchError(f"creating source {source['id']!r} answered HTTP {status}: {body!r}")


def warm_pool(scenario: KithScenario, url: str, seed: int, shape: LoadShape) -> list[WrkReport]:
    """Run a pooled scenario with `seed` until every thread walked its whole pool once."""
    needed = shape.threads * RETURNING_POOL
    seconds = max(shape.warmup, 1)
    runs: list[WrkReport] = []
    for _ in range(4):
        runs.append(run_wrk(scenario.script, url, seconds, seed, shape, scenario.timeout))
        if runs[-1]["requests"] >= needed * 1.2:
            return runs
        seconds *= 2
    raise BenchError(
        f"{scenario.name} warm-up made only {runs[-1]['requests']} requests in"
        f" {seconds // 2} s; {needed} are needed to create every session of the pool"
    )


def bench_kith(
    shape: LoadShape,
    scratch: Path,
    baseline_rps: float | None,
    *,
    store: Path | None = None,
    only: tuple[str, ...] | None = None,
    name: str = "kith",
    env: dict[str, str] | None = None,
) -> tuple[list[ScenarioResult], dict[str, Any]]:
    """Kith's scenarios on a fresh embedded store, on an existing one (`store`), or on
    whatever `env` selects (`KITH_STORAGE_URL`, `KITH_WORKERS`). The stored data is
    checked only on a fresh embedded store: it reads the SQLite file back."""
    port = free_port()
    data_dir = store or scratch / "kith-data"
    admin_key = "bench-" + secrets.token_urlsafe(24)
    command = kith_serve_command(port, data_dir, shape)
    results: list[ScenarioResult] = []
    runs: dict[str, list[WrkReport]] = {}
    with serve(name, command, {**kith_env(admin_key), **(env or {})}, port, scratch) as server:
        health = wait_healthz(server)
        create_source(server, admin_key)
        for scenario in KITH_SCENARIOS:
            if only is not None and scenario.name not in only:
                continue
            url = server.base_url + scenario.path
            seed = secrets.randbits(31)
            if scenario.pooled:
                say(f"kith: {scenario.name} warm-up (creates the session pool)")
                warm = warm_pool(scenario, url, seed, shape)
            else:
                say(f"kith: {scenario.name} warm-up {shape.warmup} s")
                warm = (
                    [
                        run_wrk(
                            scenario.script,
                            url,
                            shape.warmup,
                            seed,
                            shape,
                            scenario.timeout,
                            env=scenario.wrk_env(),
                        )
                    ]
                    if shape.warmup
                    else []
                )
                seed += 1
            if scenario.is_async:
                drain(server)  # the warm-up's backlog would be processed during the run
            say(f"kith: {scenario.name} for {shape.seconds} s")
            cpu_before = cpu_seconds(server.proc.pid)
            started = time.monotonic()
            report = run_wrk(
                scenario.script,
                url,
                shape.seconds,
                seed,
                shape,
                scenario.timeout,
                env=scenario.wrk_env(),
            )
            cpu_used = cpu_seconds(server.proc.pid) - cpu_before
            runs[scenario.name] = [*warm, report]
            result = summarise(
                scenario.name,
                name,
                scenario.script,
                report,
                baseline_rps,
                server.peak_rss_mb(),
                sum(r["requests"] for r in warm),
                cpu_used,
            )
            if scenario.is_async:
                measure_processing(server, scenario, url, shape, report, started, result, runs)
            results.append(result)
        info: dict[str, Any] = {
            "healthz": health,
            "peak_rss_mb": server.peak_rss_mb(),
            "store_mb": _store_sizes_mb(data_dir),
        }
    # after the server stopped: every answered request must have left its events
    # (on a loaded store the loaded rows would be counted too, so only on a fresh one)
    fresh = store is None and not env
    info["stored"] = check_store(data_dir / "kith.db", runs, shape) if fresh else []
    return results, info


def drain(server: Server, timeout: float = 900.0) -> float:
    """Wait until the async ingest log is empty; the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        _, body = http_json("GET", f"{server.base_url}/healthz")
        if isinstance(body, dict) and not (body.get("ingest") or {}).get("backlog"):
            return time.monotonic() - started
        time.sleep(0.25)
    raise BenchError(f"{server.name}: the ingest log did not drain in {timeout:.0f} s")


def measure_processing(
    server: Server,
    scenario: KithScenario,
    url: str,
    shape: LoadShape,
    report: WrkReport,
    started: float,
    result: ScenarioResult,
    runs: dict[str, list[WrkReport]],
) -> None:
    """After an async run: how fast the processor got through what was accepted (the
    sustained capacity), then the lag at half that rate (a paced run)."""
    cpu_before = cpu_seconds(server.proc.pid)
    accepted = report["requests"] - report["errors"]["status"]
    say(f"kith: {scenario.name}: waiting for the processor to empty the log")
    drained = drain(server)
    elapsed = time.monotonic() - started
    result["processing_per_s"] = round(accepted / elapsed, 1) if elapsed else 0.0
    result["drain_s"] = round(drained, 1)
    # CPU of accepting and processing together, per payload
    cpu_total = (result["cpu_ms_per_request"] or 0.0) * accepted / 1000
    cpu_total += cpu_seconds(server.proc.pid) - cpu_before
    result["cpu_ms_per_payload_processed"] = round(cpu_total * 1000 / accepted, 3)
    rate = max(result["processing_per_s"] / 2, 1.0)
    pause_ms = max(int(shape.connections * 1000 / rate), 1)
    say(f"kith: {scenario.name} at half the processing rate (~{rate:,.0f}/s) for {shape.seconds} s")
    lags: list[float] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.5):
            with contextlib.suppress(OSError):
                _, body = http_json("GET", f"{server.base_url}/healthz")
                if isinstance(body, dict):
                    lags.append(float((body.get("ingest") or {}).get("lag_seconds") or 0.0))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    paced = run_wrk(
        scenario.script,
        url,
        shape.seconds,
        secrets.randbits(31),
        shape,
        scenario.timeout,
        str(pause_ms),
        env=scenario.wrk_env(),
    )
    stop.set()
    sampler.join()
    runs[scenario.name].append(paced)
    seconds = paced["duration_us"] / 1e6
    result["half_load_per_s"] = round(paced["requests"] / seconds, 1) if seconds else 0.0
    result["half_load_max_lag_s"] = round(max(lags, default=0.0), 3)
    result["half_load_p99_ms"] = round(paced["latency_us"]["p99"] / 1000, 3)
    drain(server)


def check_store(
    db_path: Path, runs: dict[str, list[WrkReport]], shape: LoadShape
) -> list[dict[str, Any]]:
    """Compare each scenario's stored events (by the variant of its session ids) with
    what its wrk runs (warm-ups included) were answered.

    Each answered request must have stored its `events_per_request` events; requests
    still in flight when a wrk run ended (at most one per connection) may have
    stored theirs too. A scenario with fresh sessions must have exactly its
    `events_per_session` events in every session (no half-stored request); a pooled
    one must have touched exactly threads x RETURNING_POOL sessions.
    """
    found: dict[str, tuple[int, int, int, int]] = {}
    types: dict[str, dict[str, int]] = {}
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as conn:
            by_session = (
                "SELECT substr(session_id, 20, 1) AS variant, count(*) AS n FROM events"
                " WHERE source_id = ? AND session_id IS NOT NULL GROUP BY session_id"
            )
            for variant, sessions, events, least, most in conn.execute(
                "SELECT variant, count(*), sum(n), min(n), max(n)"
                f" FROM ({by_session}) GROUP BY variant",
                (SOURCE["id"],),
            ):
                found[variant] = (sessions, events, least, most)
            for variant, kind, count in conn.execute(
                "SELECT substr(session_id, 20, 1), type, count(*) FROM events"
                " WHERE source_id = ? AND session_id IS NOT NULL GROUP BY 1, 2",
                (SOURCE["id"],),
            ):
                types.setdefault(variant, {})[kind] = count
            for scenario in KITH_SCENARIOS:
                if scenario.source == SOURCE["id"] or scenario.name not in runs:
                    continue
                by_own_session = (
                    "SELECT count(*) AS n FROM events WHERE source_id = ?"
                    " AND session_id IS NOT NULL GROUP BY session_id"
                )
                row = conn.execute(
                    f"SELECT count(*), sum(n), min(n), max(n) FROM ({by_own_session})",
                    (scenario.source,),
                ).fetchone()
                found[scenario.variant] = tuple(value or 0 for value in row)  # type: ignore[assignment]
                types[scenario.variant] = dict(
                    conn.execute(
                        "SELECT type, count(*) FROM events WHERE source_id = ? GROUP BY type",
                        (scenario.source,),
                    ).fetchall()
                )
    except sqlite3.Error as exc:
        say(f"could not read the store to check it: {exc}")
        return [{"scenario": name, "ok": False, "error": str(exc)} for name in runs]
    checks: list[dict[str, Any]] = []
    for scenario in KITH_SCENARIOS:
        reports = runs.get(scenario.name)
        if not reports:
            continue
        per_request = reports[-1]["events_per_request"]
        answered = sum(r["requests"] - r["errors"]["status"] for r in reports)
        low = answered * per_request
        high = low + len(reports) * shape.connections * per_request
        sessions, events, least, most = found.get(scenario.variant, (0, 0, 0, 0))
        ok = low <= events <= high
        if scenario.pooled:
            expected_sessions = shape.threads * RETURNING_POOL
            ok = ok and sessions == expected_sessions
            expect = f"{expected_sessions:,} sessions"
        else:
            per_session = scenario.events_per_session or per_request
            ok = ok and least == most == per_session
            expect = f"{per_session} events per session"
        checks.append(
            {
                "scenario": scenario.name,
                "answered_requests": answered,
                "events_expected_min": low,
                "events_expected_max": high,
                "events_stored": events,
                "sessions": sessions,
                "events_per_session_min": least,
                "events_per_session_max": most,
                "events_by_type": types.get(scenario.variant, {}),
                "expect": expect,
                "ok": ok,
            }
        )
    return checks


def _store_sizes_mb(data_dir: Path) -> dict[str, float]:
    """Size of each file of the store (kith.db, its -wal and -shm) at the end of the run."""
    return {
        p.name: round(p.stat().st_size / 2**20, 1)
        for p in sorted(data_dir.glob("*.db*"))
        if p.is_file()
    }


# goals and output -----------------------------------------------------------------------
def goals(scenarios: list[ScenarioResult]) -> list[dict[str, Any]]:
    checks: list[dict[str, Any]] = []
    rates = {r["scenario"]: r["requests_per_s"] for r in scenarios if r["server"] == "kith"}
    if rates.get("identify") and rates.get("new_visitor"):
        share = round(rates["identify"] / rates["new_visitor"], 3)
        checks.append(
            {
                "goal": f"identify req/s >= {GOAL_IDENTIFY_VS_PAGE_VIEWS}x new_visitor",
                "value": share,
                "met": share >= GOAL_IDENTIFY_VS_PAGE_VIEWS,
            }
        )
    events = {r["scenario"]: r["events_per_s"] for r in scenarios if r["server"] == "kith"}
    if events.get("segment_batch") and events.get("bulk"):
        share = round(events["segment_batch"] / events["bulk"], 3)
        checks.append(
            {
                "goal": f"segment_batch events/s >= {GOAL_SEGMENT_VS_BULK}x bulk",
                "value": share,
                "met": share >= GOAL_SEGMENT_VS_BULK,
            }
        )
    for name in SIZE_SCENARIOS:
        empty = next(
            (r for r in scenarios if r["server"] == "kith" and r["scenario"] == name), None
        )
        full = next(
            (r for r in scenarios if r["server"] == "kith-loaded" and r["scenario"] == name), None
        )
        if empty and full and empty["requests_per_s"]:
            share = round(full["requests_per_s"] / empty["requests_per_s"], 3)
            checks.append(
                {
                    "goal": f"{name} on the loaded store >= {GOAL_LOADED_VS_EMPTY}x empty store",
                    "value": share,
                    "met": share >= GOAL_LOADED_VS_EMPTY,
                }
            )
    for result in scenarios:
        if result["server"] != "kith":
            continue
        name = result["scenario"]
        ratio = result["ratio_to_baseline"]
        if name == "new_visitor" and ratio is not None:
            checks.append(
                {
                    "goal": f"new_visitor req/s >= {GOAL_RATIO}x baseline",
                    "value": ratio,
                    "met": ratio >= GOAL_RATIO,
                }
            )
        if name == "async_visitor" and ratio is not None:
            checks.append(
                {
                    "goal": f"async_visitor req/s >= {GOAL_ASYNC_RATIO}x baseline",
                    "value": ratio,
                    "met": ratio >= GOAL_ASYNC_RATIO,
                }
            )
        if name == "put_batch" and rates.get("new_visitor"):
            # payloads/s (the script's events per request is its 50 one-event payloads)
            share = round(result["events_per_s"] / rates["new_visitor"], 3)
            checks.append(
                {
                    "goal": f"put_batch payloads/s >= {GOAL_BATCH_VS_SINGLE}x new_visitor req/s",
                    "value": share,
                    "met": share >= GOAL_BATCH_VS_SINGLE,
                }
            )
        if name == "bulk":
            checks.append(
                {
                    "goal": f"bulk events/s >= {GOAL_BULK_EVENTS_PER_S:,.0f}",
                    "value": result["events_per_s"],
                    "met": result["events_per_s"] >= GOAL_BULK_EVENTS_PER_S,
                }
            )
        checks.append(
            {
                "goal": f"{name} p99 <= {GOAL_P99_MS:g} ms",
                "value": result["p99_ms"],
                "met": result["p99_ms"] <= GOAL_P99_MS,
            }
        )
        checks.append(
            {
                "goal": f"{name} zero errors",
                "value": result["error_total"],
                "met": not result["error_total"],
            }
        )
    return checks


def _git_commit() -> str | None:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def to_markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    shape = meta["load"]
    lines = [
        f"# Kith benchmark, {meta['date']} (sqlite)",
        "",
        f"{meta['cpus']} x {meta['cpu']}; Python {meta['python']}, SQLite {meta['sqlite']}, "
        f"{meta['wrk']}; commit {meta['commit'] or 'none'}.",
        f"`wrk -t{shape['threads']} -c{shape['connections']} -d{shape['seconds']}s --latency`"
        + (
            f", server pinned to core {SERVER_CORE}, wrk to core {CLIENT_CORE}."
            if shape["pinned"]
            else ", no CPU pinning (taskset missing or one core)."
        )
        + f" Kith `synchronous={meta['kith_synchronous']}`.",
        "",
    ]
    scenarios: list[ScenarioResult] = results["scenarios"]
    if scenarios:
        headers = [
            "scenario",
            "server",
            "req/s",
            "events/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "errors",
            "vs baseline",
            "CPU ms/req",
            "peak RSS MB",
        ]
        rows = [
            [
                r["scenario"],
                r["server"],
                f"{r['requests_per_s']:,.0f}",
                f"{r['events_per_s']:,.0f}",
                f"{r['p50_ms']:.2f}",
                f"{r['p95_ms']:.2f}",
                f"{r['p99_ms']:.2f}",
                str(r["error_total"]),
                "1.00x" if not r["server"].startswith("kith") else _ratio(r["ratio_to_baseline"]),
                "-" if r.get("cpu_ms_per_request") is None else f"{r['cpu_ms_per_request']:.2f}",
                "-" if r["peak_rss_mb"] is None else f"{r['peak_rss_mb']:.0f}",
            ]
            for r in scenarios
        ]
        lines += ["## HTTP scenarios", "", markdown_table(headers, rows), ""]
    processing = [r for r in scenarios if "processing_per_s" in r]
    if processing:
        lines += [
            "## Async storage: processing",
            "",
            "Accepted payloads of the measured run / (the run + the time the processor took"
            " to empty the log); then a run paced at half that rate, with the largest"
            " `lag_seconds` `/healthz` showed (sampled every 0.5 s).",
            "",
            markdown_table(
                [
                    "scenario",
                    "accepted/s",
                    "processed/s",
                    "drain s",
                    "CPU ms/payload (accept + process)",
                    "half load/s",
                    "max lag s",
                    "p99 ms at half load",
                ],
                [
                    [
                        r["scenario"],
                        f"{r['requests_per_s']:,.0f}",
                        f"{r['processing_per_s']:,.0f}",
                        f"{r.get('drain_s', 0):.1f}",
                        f"{r.get('cpu_ms_per_payload_processed', 0):.2f}",
                        f"{r.get('half_load_per_s', 0):,.0f}",
                        f"{r.get('half_load_max_lag_s', 0):.2f}",
                        f"{r.get('half_load_p99_ms', 0):.2f}",
                    ]
                    for r in processing
                ],
            ),
            "",
        ]
    stored = (results.get("kith") or {}).get("stored") or []
    if stored:
        lines += [
            "## Stored data (read from the store after the run)",
            "",
            "Own events (source `bench-web`, `bench-segment` for segment_batch) of each"
            " scenario's sessions against its answered"
            " requests, warm-ups included; requests in flight when a wrk run ended may add"
            " up to one request per connection.",
            "",
            markdown_table(
                [
                    "scenario",
                    "answered requests",
                    "events expected",
                    "events stored",
                    "sessions",
                    "expect",
                    "check",
                ],
                [_stored_row(c) for c in stored],
            ),
            "",
        ]
    if results.get("kith_error"):
        lines += ["## Kith part failed", "", "```", str(results["kith_error"]), "```", ""]
    checks = results["goals"]
    if checks:
        lines += ["## Goals", ""]
        lines += [
            f"- [{'x' if c['met'] else ' '}] {c['goal']}: {c['value']}"
            + ("" if c["met"] else " **(missed)**")
            for c in checks
        ]
        lines.append("")
    if results["writer"]:
        lines += [
            "## Writer alone (group commit, one ~850-byte event row per unit)",
            "",
            writer_bench.to_markdown(results["writer"]),
            "",
        ]
    return "\n".join(lines)


def _stored_row(check: dict[str, Any]) -> list[str]:
    if "error" in check:
        return [check["scenario"], "-", "-", "-", "-", check["error"], "**failed**"]
    low, high = check["events_expected_min"], check["events_expected_max"]
    return [
        check["scenario"],
        f"{check['answered_requests']:,}",
        f"{low:,} to {high:,}",
        f"{check['events_stored']:,}",
        f"{check['sessions']:,}",
        check["expect"],
        "ok" if check["ok"] else "**failed**",
    ]


def stored_ok(results: dict[str, Any]) -> bool:
    return all(c["ok"] for c in (results.get("kith") or {}).get("stored") or [])


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _goal_line(axis: Any, value: float, label: str) -> None:
    axis.axhline(value, color="#d9822b", linestyle="--", linewidth=1)
    axis.text(
        0.99,
        value,
        label,
        transform=axis.get_yaxis_transform(),
        color="#d9822b",
        fontsize=8,
        ha="right",
        va="bottom",
    )


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios: list[ScenarioResult] = results["scenarios"]
    names = [
        r["scenario"]
        if r["server"] in ("kith", "bare Starlette")
        else f"{r['scenario']}\n{r['server']}"
        for r in scenarios
    ]
    colours = ["#9e9e9e" if not r["server"].startswith("kith") else "#3f7fbf" for r in scenarios]
    figure, (left, middle, right) = plt.subplots(1, 3, figsize=(15, 4.6))
    rps = [r["requests_per_s"] for r in scenarios]
    left.bar(names, rps, color=colours)
    left.set_title("throughput (req/s, higher is better)")
    for x, value in enumerate(rps):
        left.annotate(f"{value:,.0f}", (x, value), ha="center", va="bottom", fontsize=8)
    baseline = results["baseline_rps"]
    if baseline:
        _goal_line(left, baseline * GOAL_RATIO, f"new_visitor goal {GOAL_RATIO}x baseline")
    eps = [r["events_per_s"] for r in scenarios]
    middle.bar(names, eps, color=colours)
    middle.set_title("events/s (payload events, higher is better)")
    for x, value in enumerate(eps):
        middle.annotate(f"{value:,.0f}", (x, value), ha="center", va="bottom", fontsize=8)
    if "bulk" in names:
        _goal_line(middle, GOAL_BULK_EVENTS_PER_S, f"bulk goal {GOAL_BULK_EVENTS_PER_S:,.0f}")
    p99 = [r["p99_ms"] for r in scenarios]
    right.bar(names, p99, color=colours)
    right.set_title("p99 latency (ms, lower is better)")
    _goal_line(right, GOAL_P99_MS, f"goal {GOAL_P99_MS:g} ms")
    for x, value in enumerate(p99):
        right.annotate(f"{value:.1f}", (x, value), ha="center", va="bottom", fontsize=8)
    for axis in (left, middle, right):
        axis.tick_params(axis="x", labelsize=8, labelrotation=30)
        for label in axis.get_xticklabels():
            label.set_horizontalalignment("right")
    meta = results["meta"]
    figure.suptitle(f"Kith on SQLite, {meta['date']} (-c{meta['load']['connections']})")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_results(results: dict[str, Any], out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"{results['meta']['date']}-sqlite"
    json_path = stem.with_suffix(".json")
    md_path = stem.with_suffix(".md")
    png_path = stem.with_suffix(".png")
    json_path.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2) + b"\n")
    md_path.write_text(to_markdown(results))
    written = [json_path, md_path]
    if results["scenarios"]:
        chart(results, png_path)
        written.append(png_path)
    return written


# entry point ----------------------------------------------------------------------------
def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise BenchError(f"{name} must be a number, not {raw!r}") from exc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--parts",
        default="baseline,kith,postgres,size,writer",
        help="comma-separated subset of baseline,kith,postgres,size,writer; `size` reruns"
        " new and returning visitors on the loaded store in KITH_BENCH_STORE (made by"
        " `python -m bench.data_size --keep DIR`) and is skipped when that is unset",
    )
    parser.add_argument("--seconds", type=int, help="per scenario (env KITH_BENCH_SECONDS, 10)")
    parser.add_argument(
        "--scenarios",
        help="comma-separated subset of the Kith scenarios to run (default: all), e.g."
        " bulk,segment_batch",
    )
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when a goal is missed (for CI)"
    )
    args = parser.parse_args(argv)
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    unknown = parts - {"baseline", "kith", "postgres", "size", "writer"}
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")

    try:
        seconds = args.seconds or int(_env_number("KITH_BENCH_SECONDS", 10))
        shape = LoadShape(
            seconds=max(1, seconds),
            warmup=int(_env_number("KITH_BENCH_WARMUP", min(3, seconds))),
            connections=int(_env_number("KITH_BENCH_CONNECTIONS", 64)),
            threads=int(_env_number("KITH_BENCH_THREADS", 2)),
            pin=can_pin(),
        )
        writer_seconds = _env_number("KITH_BENCH_WRITER_SECONDS", min(5.0, max(1.0, seconds / 2)))
        if parts & {"baseline", "kith", "postgres"}:
            require_wrk()
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not shape.pin:
        say("taskset missing or fewer than two cores: server and wrk are not pinned")

    results: dict[str, Any] = {
        "meta": {
            "date": datetime.now().date().isoformat(),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "commit": _git_commit(),
            "cpu": _cpu_model(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "wrk": wrk_version() if shutil.which("wrk") else None,
            "kith_synchronous": os.environ.get("KITH_SQLITE_SYNCHRONOUS", "full"),
            "load": {
                "seconds": shape.seconds,
                "warmup": shape.warmup,
                "connections": shape.connections,
                "threads": shape.threads,
                "pinned": shape.pin,
                "writer_seconds": writer_seconds,
            },
        },
        "baseline_rps": None,
        "scenarios": [],
        "kith": None,
        "kith_error": None,
        "goals": [],
        "writer": [],
    }
    failed = False
    scratch = scratch_dir("run-")
    try:
        if "baseline" in parts:
            baseline = bench_baseline(shape, scratch)
            results["scenarios"].append(baseline)
            results["baseline_rps"] = baseline["requests_per_s"]
        if "kith" in parts:
            try:
                chosen = (
                    tuple(name.strip() for name in args.scenarios.split(",") if name.strip())
                    if args.scenarios
                    else None
                )
                kith_results, info = bench_kith(
                    shape, scratch, results["baseline_rps"], only=chosen
                )
            except (BenchError, OSError, subprocess.SubprocessError) as exc:
                failed = True
                results["kith_error"] = str(exc)
                say(f"kith part failed: {exc}")
            else:
                results["scenarios"].extend(kith_results)
                results["kith"] = info
        if "postgres" in parts:
            from bench.scale import bench_postgres

            for workers in (1, 2):
                try:
                    results["scenarios"].append(
                        bench_postgres(shape, scratch, results["baseline_rps"], workers)
                    )
                except (BenchError, OSError, subprocess.SubprocessError) as exc:
                    failed = True
                    say(f"postgres part ({workers} workers) failed: {exc}")
        loaded = os.environ.get("KITH_BENCH_STORE")
        if "size" in parts and loaded:
            try:
                sized, info = bench_kith(
                    shape,
                    scratch,
                    results["baseline_rps"],
                    store=Path(loaded),
                    only=SIZE_SCENARIOS,
                    name="kith-loaded",
                )
            except (BenchError, OSError, subprocess.SubprocessError) as exc:
                failed = True
                say(f"size part failed: {exc}")
            else:
                results["scenarios"].extend(sized)
                results["loaded_store"] = {"path": loaded, **info}
        elif "size" in parts:
            say("size part skipped: set KITH_BENCH_STORE to a store loaded by bench.data_size")
        if "writer" in parts:
            results["writer"] = writer_bench.run_all(seconds=writer_seconds, progress=say)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    results["goals"] = goals(results["scenarios"])
    if "postgres" in parts:
        from bench.scale import postgres_goals

        results["goals"] += postgres_goals(results["scenarios"])
    written = write_results(results, args.out_dir)
    print(to_markdown(results))
    for path in written:
        say(f"wrote {path.relative_to(REPO_DIR) if path.is_relative_to(REPO_DIR) else path}")
    if failed:
        return 1
    if not stored_ok(results):
        say("the stored data does not match the answered requests (see the .md)")
        return 1
    if args.check and not all(c["met"] for c in results["goals"]):
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
