"""The scale-out part of `make bench`: new visitors on PostgreSQL with 1 and 2 workers.

Runs in the same `python -m bench.run` as the SQLite scenarios, so the figures sit
side by side against one baseline. Each run gets a fresh schema in the local
PostgreSQL (`KITH_BENCH_POSTGRES`, default `postgresql://postgres@127.0.0.1:5432/test`),
dropped afterwards. The server is not pinned here: two workers need both cores,
which PostgreSQL and wrk share with them on a two-core machine."""

from __future__ import annotations

import asyncio
import os
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg

from bench.run import BenchError, LoadShape, ScenarioResult, bench_kith

DATABASE = os.environ.get("KITH_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
GOAL_PG_VS_BASELINE = 0.15
GOAL_TWO_VS_ONE = 1.6


async def _drop(schema: str) -> None:
    conn = await asyncpg.connect(DATABASE)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def bench_postgres(
    shape: LoadShape, scratch: Path, baseline_rps: float | None, workers: int
) -> ScenarioResult:
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    name = f"kith-pg-{workers}w"
    env = {"KITH_STORAGE_URL": f"{DATABASE}?schema={schema}", "KITH_WORKERS": str(workers)}
    try:
        results, info = bench_kith(
            replace(shape, pin=False),
            scratch,
            baseline_rps,
            only=("new_visitor",),
            name=name,
            env=env,
        )
    finally:
        asyncio.run(_drop(schema))
    if info["healthz"].get("storage") != "postgresql":
        raise BenchError(f"{name} answered /healthz with {info['healthz']!r}")
    return results[0]


def postgres_goals(scenarios: list[ScenarioResult]) -> list[dict[str, Any]]:
    rates = {r["server"]: r for r in scenarios if r["scenario"] == "new_visitor"}
    checks: list[dict[str, Any]] = []
    one, two = rates.get("kith-pg-1w"), rates.get("kith-pg-2w")
    if one is not None and one["ratio_to_baseline"] is not None:
        checks.append(
            {
                "goal": f"PostgreSQL 1 worker new_visitor >= {GOAL_PG_VS_BASELINE}x baseline",
                "value": one["ratio_to_baseline"],
                "met": one["ratio_to_baseline"] >= GOAL_PG_VS_BASELINE,
            }
        )
    if one is not None and two is not None and one["requests_per_s"]:
        share = round(two["requests_per_s"] / one["requests_per_s"], 3)
        checks.append(
            {
                "goal": f"PostgreSQL 2 workers >= {GOAL_TWO_VS_ONE}x 1 worker",
                "value": share,
                "met": share >= GOAL_TWO_VS_ONE,
            }
        )
    for result in (one, two):
        if result is not None:
            checks.append(
                {
                    "goal": f"{result['server']} zero errors",
                    "value": result["error_total"],
                    "met": not result["error_total"],
                }
            )
    return checks
