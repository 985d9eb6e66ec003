"""The soak: ten minutes of new visitors at half the measured maximum rate.

Memory that grows with traffic (a cache without a bound, a lock table that keeps
entries) and latency that creeps up only show over minutes, not in a 10-second
run. The server's RSS (its whole process tree) and the p99 of each 10-second
window are sampled, written to `bench/results/<date>-soak.{json,md,png}`, and
checked: RSS at most 400 MB and flat (within 10%) over the last 8 minutes.

    python -m bench.soak                 # 10 minutes
    KITH_SOAK_SECONDS=120 python -m bench.soak"""

from __future__ import annotations

import os
import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench._common import RESULTS_DIR, markdown_table, scratch_dir
from bench.run import (
    NEW_VISITOR,
    LoadShape,
    _status_kb,
    can_pin,
    create_source,
    free_port,
    kith_env,
    kith_serve_command,
    process_tree,
    run_wrk,
    say,
    serve,
    wait_healthz,
)

WINDOW = 10
GOAL_RSS_MB = 400.0
GOAL_FLAT = 0.10
CONNECTIONS = 16


def rss_mb(pid: int) -> float:
    return round(sum(_status_kb(p, "VmRSS") for p in process_tree(pid)) / 1024, 1)


def soak(seconds: int, out_dir: Path) -> dict[str, Any]:
    shape = LoadShape(seconds=10, warmup=3, connections=64, threads=2, pin=can_pin())
    scratch = scratch_dir("soak-")
    port = free_port()
    admin_key = "soak-" + secrets.token_urlsafe(24)
    command = kith_serve_command(port, scratch / "kith-data", shape)
    samples: list[dict[str, Any]] = []
    with serve("kith-soak", command, kith_env(admin_key), port, scratch) as server:
        wait_healthz(server)
        create_source(server, admin_key)
        url = server.base_url + "/track"
        say("soak: measuring the maximum rate (10 s at 64 connections)")
        run_wrk(NEW_VISITOR, url, 3, secrets.randbits(31), shape)
        peak = run_wrk(NEW_VISITOR, url, 10, secrets.randbits(31), shape)
        maximum = peak["requests"] / (peak["duration_us"] / 1e6)
        target = maximum / 2
        # each connection waits `pause` ms before each request: rate ~ c x 1000 / pause,
        # less the requests' own latency, which the loop below corrects for
        paced = LoadShape(
            seconds=WINDOW, warmup=0, connections=CONNECTIONS, threads=2, pin=shape.pin
        )
        pause = max(1, round(CONNECTIONS * 1000 / target))
        say(f"soak: maximum {maximum:,.0f} req/s; {seconds} s at ~{target:,.0f} req/s")
        started = datetime.now(UTC)
        for window in range(seconds // WINDOW):
            report = run_wrk(
                NEW_VISITOR, url, WINDOW, secrets.randbits(31), paced, None, str(pause)
            )
            duration = report["duration_us"] / 1e6
            samples.append(
                {
                    "t_s": (window + 1) * WINDOW,
                    "rss_mb": rss_mb(server.proc.pid),
                    "p99_ms": round(report["latency_us"]["p99"] / 1000, 3),
                    "requests_per_s": round(report["requests"] / duration, 1),
                    "errors": sum(report["errors"].values()),
                }
            )
            say(f"soak: {samples[-1]}")
            # a request's own latency adds to the pause: steer the pause toward the target
            achieved = max(samples[-1]["requests_per_s"], 1.0)
            pause = max(1, min(10 * pause, round(pause * achieved / target)))
    late = [s["rss_mb"] for s in samples if s["t_s"] > seconds - 8 * 60] or [
        s["rss_mb"] for s in samples
    ]
    spread = (max(late) - min(late)) / min(late) if late and min(late) else 0.0
    result: dict[str, Any] = {
        "meta": {"started": started.isoformat(timespec="seconds"), "seconds": seconds,
                 "maximum_rps": round(maximum, 1), "target_rps": round(target, 1),
                 "connections": CONNECTIONS, "pause_ms": pause},
        "samples": samples,
        "goals": [
            {"goal": f"RSS <= {GOAL_RSS_MB:.0f} MB", "value": max(s["rss_mb"] for s in samples),
             "met": max(s["rss_mb"] for s in samples) <= GOAL_RSS_MB},
            {"goal": f"RSS flat within {GOAL_FLAT:.0%} over the last 8 minutes",
             "value": round(spread, 3), "met": spread <= GOAL_FLAT},
            {"goal": "zero errors", "value": sum(s["errors"] for s in samples),
             "met": not any(s["errors"] for s in samples)},
        ],
    }  # fmt: skip
    write(result, out_dir)
    return result


def write(result: dict[str, Any], out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"{datetime.now().date().isoformat()}-soak"
    stem.with_suffix(".json").write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    rows = [
        [str(s["t_s"]), f"{s['rss_mb']:.1f}", f"{s['p99_ms']:.2f}", f"{s['requests_per_s']:,.0f}",
         str(s["errors"])]
        for s in result["samples"]
    ]  # fmt: skip
    meta = result["meta"]
    lines = [
        f"# Soak, {meta['started']}",
        "",
        f"{meta['seconds']} s of new visitors at ~{meta['target_rps']:,.0f} req/s (half the"
        f" measured maximum of {meta['maximum_rps']:,.0f}), {meta['connections']} connections.",
        "",
        *[f"- [{'x' if g['met'] else ' '}] {g['goal']}: {g['value']}" for g in result["goals"]],
        "",
        markdown_table(["t (s)", "RSS MB", "p99 ms", "req/s", "errors"], rows),
    ]
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, left = plt.subplots(figsize=(9, 4))
    times = [s["t_s"] for s in result["samples"]]
    left.plot(times, [s["rss_mb"] for s in result["samples"]], color="#3f7fbf", label="RSS MB")
    left.set_xlabel("seconds")
    left.set_ylabel("RSS MB")
    right = left.twinx()
    right.plot(times, [s["p99_ms"] for s in result["samples"]], color="#c0504d", label="p99 ms")
    right.set_ylabel("p99 ms")
    figure.legend(loc="upper left")
    left.set_title("soak: RSS and p99 per 10 s window")
    figure.tight_layout()
    figure.savefig(stem.with_suffix(".png"), dpi=110)
    plt.close(figure)
    say(f"wrote {stem}.{{json,md,png}}")


def main() -> int:
    seconds = int(os.environ.get("KITH_SOAK_SECONDS", "600"))
    result = soak(max(WINDOW, seconds), Path(os.environ.get("KITH_SOAK_OUT", str(RESULTS_DIR))))
    return 0 if all(g["met"] for g in result["goals"]) else 1


if __name__ == "__main__":
    sys.exit(main())
