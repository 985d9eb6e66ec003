"""What each capability costs the collector: new visitors with and without it, one run.

Each variant starts a fresh `kith serve` (pinned like `bench.run`), configures the
capability through the admin API, then runs the `new_visitor` scenario; the
variants alternate (`--rounds`) so that a noisy neighbour hits all of them alike,
and each figure is the median of its rounds. Besides requests per second it
records the server's CPU time per request (utime + stime of its process tree
from /proc over the measured run), which noise on a shared machine moves less.

    .venv/bin/python -m bench.features                  # every variant, 3 rounds
    .venv/bin/python -m bench.features --variants plain,flows --rounds 2 --seconds 5

Variants and the goals of the issues that added them:

- flows: one deployed sync flow of 5 nodes (if, set, increment, add-segment, ux)
  on every event of the payload (rules for its three types); goal >= 0.8x plain.
- flows-any: the same flow on a rule for any event type, so it also runs on the
  system events (six runs a request instead of three).
- segments: 100 enabled segments and 10 computed traits; goal >= 0.85x plain.
- async: the same payloads with `options.async` (acknowledged once logged).
- before: plain, served by another checkout's `kith` (`KITH_BENCH_BEFORE=DIR`, a
  checkout with its own `.venv`): a same-run comparison with an older commit.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from bench._common import RESULTS_DIR, markdown_table, scratch_dir
from bench.run import (
    NEW_VISITOR,
    SERVER_CORE,
    SOURCE,
    LoadShape,
    Server,
    can_pin,
    cpu_seconds,
    create_source,
    drain,
    free_port,
    http_json,
    kith_env,
    kith_serve_command,
    pinned,
    run_wrk,
    say,
    serve,
    summarise,
    wait_healthz,
)

Setup = Callable[[Server, str], None]


def api(server: Server, key: str, method: str, path: str, body: Any = None) -> Any:
    status, answer = http_json(
        method, f"{server.base_url}{path}", body, {"Authorization": f"Bearer {key}"}
    )
    if status >= 300:
        raise RuntimeError(f"{method} {path}: {status} {answer!r}")
    return answer


def settle_jobs(server: Server, key: str, timeout: float = 300) -> None:
    """Wait until no job (the refreshes and back-fills a setup queued) is left to run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = api(server, key, "GET", "/api/jobs?limit=200")["items"]
        if all(job["status"] in ("done", "failed") for job in jobs):
            return
        time.sleep(0.5)
    raise RuntimeError("the setup's jobs did not finish")


def setup_flows(server: Server, key: str) -> None:
    nodes = [
        {"id": "start", "type": "start"},
        {"id": "if", "type": "if", "config": {"condition": "event@type != 'none'"}},
        {"id": "set", "type": "set", "config": {"set": {"profile@traits.last": "event@type"}}},
        {"id": "inc", "type": "increment", "config": {"field": "profile@stats.counters.seen"}},
        {"id": "seg", "type": "add-segment", "config": {"segment": "seen"}},
        {"id": "ux", "type": "ux", "config": {"tag": "div", "content": "Hi {{event@type}}"}},
    ]
    edges = [
        {"from": "start", "to": "if"},
        {"from": "if", "port": "true", "to": "set"},
        {"from": "set", "to": "inc"},
        {"from": "inc", "to": "seg"},
        {"from": "seg", "to": "ux"},
    ]
    api(server, key, "PUT", "/api/flows/bench", {"mode": "sync", "nodes": nodes, "edges": edges})
    api(server, key, "POST", "/api/flows/bench/deploy")
    for event_type in ("page-view", "product-view", "add-to-cart"):  # the payload's events
        rule = {"flow": "bench", "event_type": event_type}
        api(server, key, "PUT", f"/api/rules/bench-{event_type}", rule)


def setup_flows_any(server: Server, key: str) -> None:
    """The same flow on a rule without an event type: it also runs on the three system
    events of a first visit (profile-created, session-opened, visit-started) and, from
    the feed, on the segment-entered event its add-segment node causes."""
    setup_flows(server, key)
    for event_type in ("page-view", "product-view", "add-to-cart"):
        api(server, key, "DELETE", f"/api/rules/bench-{event_type}")
    api(server, key, "PUT", "/api/rules/bench", {"flow": "bench", "event_type": None})


def setup_segments(server: Server, key: str) -> None:
    for n in range(10):
        trait = {
            "kind": "count" if n % 2 else "sum",
            "event_type": "add-to-cart",
            "property": "properties.price",
            "window": "30d" if n % 3 == 0 else None,
        }
        api(server, key, "PUT", f"/api/computed-traits/t{n}", trait)
    # selective, as real segments are: a new visitor enters 2 of them (s0 and s2, on
    # visits >= 0 and >= 1); the others are evaluated and stay false
    for n in range(100):
        condition = (
            f"profile@stats.views >= {n % 7} AND profile@computed.t{n % 10} > {n + 100}"
            if n % 2
            else f"profile@traits.tier == 'gold' OR profile@stats.visits >= {n // 2}"
        )
        api(server, key, "PUT", f"/api/segments/s{n}", {"condition": condition})


VARIANTS: dict[str, tuple[Setup | None, dict[str, str]]] = {
    "plain": (None, {}),
    "flows": (setup_flows, {}),
    "flows-any": (setup_flows_any, {}),
    "segments": (setup_segments, {}),
    "async": (None, {"KITH_BENCH_OPTIONS": '{"async":true}'}),
    "before": (None, {}),
}
GOALS = {"flows": 0.8, "segments": 0.85}


@contextlib.contextmanager
def wrk_env(extra: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def measure(variant: str, shape: LoadShape, scratch: Path) -> dict[str, Any]:
    setup, extra = VARIANTS[variant]
    port = free_port()
    key = "bench-" + secrets.token_urlsafe(24)
    data = scratch / f"{variant}-{secrets.token_hex(4)}"
    command = kith_serve_command(port, data, shape)
    if variant == "before":  # the same command, another checkout's kith
        other = Path(os.environ["KITH_BENCH_BEFORE"]) / ".venv" / "bin" / "kith"
        command = [*pinned(SERVER_CORE, shape), str(other), *command[command.index("serve") :]]
    with serve(f"kith-{variant}", command, kith_env(key), port, scratch) as server:
        wait_healthz(server)
        if variant == "before":  # an older release may not know the segment bridge
            api(server, key, "POST", "/api/sources", SOURCE)
        else:
            create_source(server, key)
        if setup is not None:
            setup(server, key)
        time.sleep(1.5)  # configuration caches settle
        settle_jobs(server, key)  # measured in steady state, not beside the first refreshes
        url = server.base_url + "/track"
        with wrk_env(extra):
            if shape.warmup:
                run_wrk(NEW_VISITOR, url, shape.warmup, secrets.randbits(31), shape)
            before = cpu_seconds(server.proc.pid)
            report = run_wrk(NEW_VISITOR, url, shape.seconds, secrets.randbits(31), shape)
            cpu = cpu_seconds(server.proc.pid) - before
        result = dict(summarise(variant, "kith", NEW_VISITOR, report, None, None, 0))
        result["cpu_us_per_request"] = round(cpu / max(report["requests"], 1) * 1e6, 1)
        if variant == "async":
            result["drain_s"] = round(drain(server), 2)
        return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--seconds", type=int, default=int(os.environ.get("KITH_BENCH_SECONDS", 10))
    )
    args = parser.parse_args(argv)
    variants = [name.strip() for name in args.variants.split(",") if name.strip()]
    shape = LoadShape(args.seconds, min(3, args.seconds), 64, 2, can_pin())
    scratch = scratch_dir("features-")
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    for round_ in range(args.rounds):
        for variant in variants:
            say(f"features: round {round_ + 1}, {variant}")
            runs[variant].append(measure(variant, shape, scratch))
    summary = {
        name: {
            "requests_per_s": statistics.median(r["requests_per_s"] for r in found),
            "cpu_us_per_request": statistics.median(r["cpu_us_per_request"] for r in found),
            "p99_ms": statistics.median(r["p99_ms"] for r in found),
        }
        for name, found in runs.items()
    }
    plain = summary.get("plain", {}).get("requests_per_s")
    rows = []
    for name, figures in summary.items():
        ratio = figures["requests_per_s"] / plain if plain else None
        goal = GOALS.get(name)
        verdict = "" if goal is None or ratio is None else ("met" if ratio >= goal else "missed")
        rows.append([
            name, f"{figures['requests_per_s']:,.0f}", f"{figures['cpu_us_per_request']:,.0f}",
            f"{figures['p99_ms']:.1f}", f"{ratio:.2f}" if ratio else "", f"{goal or ''}", verdict,
        ])  # fmt: skip
    table = markdown_table(
        ["variant", "req/s", "CPU us/req", "p99 ms", "x plain", "goal", ""], rows
    )
    print(table)
    out = RESULTS_DIR / f"{time.strftime('%Y-%m-%d')}-features.json"
    out.write_bytes(orjson.dumps({"runs": runs, "summary": summary}, option=orjson.OPT_INDENT_2))
    say(f"features: wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
