"""Segment refresh at size: how fast the batch refresh job walks N profiles.

    python -m bench.segment_refresh                     # 1,000,000 profiles
    python -m bench.segment_refresh --profiles 50000    # a quick one
    python -m bench.segment_refresh --keep DIR          # keep the loaded store
    python -m bench.segment_refresh --reuse DIR         # a kept store, loaded again from its copy

Profiles are written through the storage bulk path (`bench.loading`), no events:
each has visit stats, a few traits and, for a third of them, an e-mail and a
first name, shaped like stored ones (~1 kB of JSON). `traits.ltv` is spread
evenly over 0-1,000, so `profile@traits.ltv >= 900` holds for ~10% of them and
`>= 500` for ~50%.

Then segments are saved through `SegmentService` (what `PUT /api/segments/{id}`
calls; saving queues the refresh job) and each job is run to its end in this
process by `JobService.run_here`, as `kith segments refresh ID` runs it: the
same job kind (`ProfileWalk`) and code path as a refresh `POST
/api/segments/{id}/refresh` queues for `kith serve`'s job runner. The garbage
collector is tuned as `kith serve` tunes it. Cases, in this order:

- `enter-10`: a new segment that ~10% of the profiles enter;
- `unchanged`: the same segment refreshed again: nobody changes;
- `ten-new`: 10 new segments saved at once: 10 jobs, run one after another as
  the job runner runs them (each walks every profile);
- `ten-unchanged`: one refresh job of those 10 segments together (one walk
  judging 10 conditions a profile): nobody changes;
- `enter-50`: a new segment that ~50% of the profiles enter.

Each case reports profiles/s (profiles walked per wall-clock second, per walk)
and the CPU seconds of this process (all its threads: the walk, the read pool,
the writer) per 1,000 profiles. Results: `bench/results/<date>-segments.{json,md}`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import uuid_utils

from bench._common import markdown_table, save_results, scratch_dir
from bench.loading import BulkLoader, machine
from kith.app import tune_garbage_collector
from kith.config import Settings
from kith.domain.clock import iso
from kith.domain.profile import new_profile
from kith.segments.refresh import REFRESH_KIND, ProfileWalk
from kith.services import Services, build_services
from kith.storage.ports import Job, VisitUnit

GOAL = 20_000.0
START = datetime(2026, 9, 1, tzinfo=UTC)
PLANS = [("free", 70), ("pro", 25), ("enterprise", 5)]
COUNTRIES = ["PL", "DE", "FR", "GB", "US", "ES", "IT", "NL"]
ENTER_10 = "profile@traits.ltv >= 900"
ENTER_50 = "profile@traits.ltv >= 500"
TEN = {
    "views-over-30": "profile@stats.views > 30",
    "named": "profile@data.pii.firstname EXISTS",
    "big-spender": "profile@traits.ltv >= 990",
    "enterprise": 'profile@traits.plan == "enterprise"',
    "pro-frequent": 'profile@traits.plan == "pro" AND profile@stats.visits > 10',
    "german": 'profile@traits.country == "DE" AND profile@traits.ltv > 800',
    "example-mail": 'profile@data.contact.email.main ENDS WITH "7@example.com"',
    "loyal": "profile@metadata.time.visit.count >= 15",
    "one-visit": "profile@stats.visits == 1 AND profile@stats.views > 20",
    "newsletter": "profile@consents.newsletter.granted == true AND profile@traits.ltv < 50",
}


def profile_of(number: int, rng: random.Random, moment: datetime) -> dict[str, Any]:
    """One profile as a collector would have left it after a few visits."""
    pid = str(uuid_utils.uuid7())
    created = iso(moment)
    profile = new_profile(pid, created)
    visits = 1 + min(int(rng.expovariate(1 / 4)), 60)
    views = visits + int(rng.expovariate(1 / 6)) * visits
    last = moment + timedelta(days=rng.uniform(0, 60))
    visit = profile["metadata"]["time"]["visit"]
    visit.update(
        last=iso(last - timedelta(days=rng.uniform(1, 10))) if visits > 1 else None,
        current=iso(last),
        count=visits,
        tz="Europe/Warsaw",
    )
    profile["metadata"]["time"]["update"] = iso(last)
    profile["stats"] = {
        "visits": visits,
        "views": views,
        "counters": {"page-view": views, "product-view": views // 3, "add-to-cart": views // 10},
    }
    profile["traits"] = {
        "ltv": round(rng.uniform(0, 1000), 2),
        "plan": rng.choices([p for p, _ in PLANS], [w for _, w in PLANS])[0],
        "country": COUNTRIES[number % len(COUNTRIES)],
        "score": rng.randrange(100),
    }
    profile["interests"] = {"shoes": rng.randrange(5), "running": rng.randrange(3)}
    if number % 4 == 0:
        profile["consents"] = {"newsletter": {"granted": True, "time": created}}
    if number % 2 == 0:
        profile["ids"].append(str(uuid_utils.uuid4()))  # an anonymous id merged in
    data = profile["data"]
    data["devices"] = {"last": {"browser": "Firefox", "version": "133.0", "os": "Linux"}}
    data["preferences"] = {"language": "pl-PL", "currency": "PLN"}
    if number % 3 == 0:
        data["contact"]["email"]["main"] = f"person{number}@example.com"
        data["pii"].update(firstname=f"First{number}", lastname=f"Last{number}")
        data["identifier"] = {"customer": f"C{number:09d}"}
        profile["metadata"]["fields"] = {
            field: {"time": created, "source": "web-shop"}
            for field in ("data.contact.email.main", "data.pii.firstname", "data.pii.lastname")
        }
    return profile


def load(path: Path, profiles: int, seed: int) -> dict[str, Any]:
    """`profiles` profiles (ids in creation order, as uuid7 makes them) and their
    identity rows into a fresh store at `path`."""
    rng = random.Random(seed)
    loader = BulkLoader(path)
    started = time.perf_counter()
    span = timedelta(days=30) / max(profiles, 1)
    sizes = 0
    for number in range(profiles):
        profile = profile_of(number, rng, START + span * number)
        identities = [("id", profile["id"], profile["id"])]
        email = profile["data"]["contact"]["email"].get("main")
        if email:
            identities.append(("data.contact.email.main", email, profile["id"]))
        if number < 1000:
            sizes += len(orjson.dumps(profile))
        loader.add(VisitUnit(profile=profile, identities=identities))
    loader.finish()
    seconds = time.perf_counter() - started
    return {
        "profiles": profiles,
        "seconds": round(seconds, 1),
        "profiles_per_s": round(profiles / seconds),
        "profile_bytes": round(sizes / min(profiles, 1000)),
        "bytes": loader.close(),
    }


async def _run(services: Services, job: Job) -> Job:
    kind = services.job_runner.kind(job.kind)
    return await services.jobs.run_here(job, kind, lease=services.settings.lease_seconds)


def _thread_cpu() -> dict[str, float]:
    """CPU seconds of each of this process's threads so far, by thread name (the
    event loop is `MainThread`; read connections and the writer have their own)."""
    names = {thread.native_id: thread.name for thread in threading.enumerate()}
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        name = names.get(int(task.name), "other")
        name = "kith-read" if name.startswith("kith-read") else name
        found[name] = found.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return found


class Timed:
    """Wall-clock and CPU seconds of this process (every thread, and by thread), and
    what the walk counted, over the jobs run inside the block."""

    def __init__(self, walk: ProfileWalk) -> None:
        self._walk = walk

    def __enter__(self) -> Timed:
        self._threads = _thread_cpu()
        self._wall = time.perf_counter()
        self._cpu = time.process_time()
        self._checked, self._changed = self._walk.checked, self._walk.changed
        return self

    def __exit__(self, *_: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu
        self.checked = self._walk.checked - self._checked
        self.changed = self._walk.changed - self._changed
        threads = _thread_cpu()
        self.threads = {
            name: round(seconds - self._threads.get(name, 0.0), 2)
            for name, seconds in sorted(threads.items())
        }


def _figures(name: str, what: str, timed: Timed, walks: int, entered: int) -> dict[str, Any]:
    per_walk = timed.checked / walks
    return {
        "case": name,
        "what": what,
        "walks": walks,
        "profiles_checked": timed.checked,
        "profiles_changed": timed.changed,
        "entered": entered,
        "seconds": round(timed.wall, 2),
        "cpu_seconds": round(timed.cpu, 2),
        "profiles_per_s": round(per_walk * walks / timed.wall),
        "cpu_s_per_1k": round(timed.cpu / timed.checked * 1000, 4),
        "cpu_seconds_by_thread": timed.threads,
    }


@contextlib.contextmanager
def profiled(directory: Path | None, name: str) -> Iterator[None]:
    """With `directory`, pyinstrument samples the event loop's thread (the walk;
    not the writer's and read threads) and writes `<name>.txt` there."""
    if directory is None:
        yield
        return
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.002)
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{name}.txt").write_text(profiler.output_text(unicode=True, show_all=False))


async def measure(
    directory: Path, cases: list[str], profile_dir: Path | None = None
) -> list[dict[str, Any]]:
    settings = Settings(data_dir=directory, log_level="warning")
    services = build_services(settings)
    await services.start()
    tune_garbage_collector()
    walk = services.job_runner.kind(REFRESH_KIND)
    assert isinstance(walk, ProfileWalk)
    results: list[dict[str, Any]] = []
    storage = services.storage.profiles
    segments = services.segments

    async def one(name: str, what: str, segment: str, condition: str | None) -> None:
        if condition is not None:
            _, job = await segments.put_segment(
                segment, {"name": segment, "enabled": True, "condition": condition}
            )
        else:
            job = await segments.refresh(segment)
        with profiled(profile_dir, name), Timed(walk) as timed:
            done = await _run(services, job)
        assert done.status == "done", done.error
        entered = await storage.in_segment(segment)
        results.append(_figures(name, what, timed, 1, entered))
        print(results[-1], flush=True)

    try:
        if "enter-10" in cases or "unchanged" in cases:
            await one("enter-10", f"new segment `{ENTER_10}`", "ltv-900", ENTER_10)
        if "unchanged" in cases:
            await one("unchanged", "the same segment again", "ltv-900", None)
        if "ten-new" in cases or "ten-unchanged" in cases:
            jobs = [
                (
                    await segments.put_segment(
                        sid, {"name": sid, "enabled": True, "condition": text}
                    )
                )[1]
                for sid, text in TEN.items()
            ]
            with profiled(profile_dir, "ten-new"), Timed(walk) as timed:
                for job in jobs:  # the job runner runs one job at a time
                    done = await _run(services, job)
                    assert done.status == "done", done.error
            entered = sum([await storage.in_segment(sid) for sid in TEN])
            what = "10 new segments saved at once: 10 jobs, one after another"
            results.append(_figures("ten-new", what, timed, len(jobs), entered))
            print(results[-1], flush=True)
        if "ten-unchanged" in cases:
            job = await services.jobs.queue(REFRESH_KIND, {"segments": list(TEN), "traits": False})
            with profiled(profile_dir, "ten-unchanged"), Timed(walk) as timed:
                done = await _run(services, job)
            assert done.status == "done", done.error
            what = "one job refreshing those 10 segments (one walk, 10 conditions)"
            results.append(_figures("ten-unchanged", what, timed, 1, 0))
            print(results[-1], flush=True)
        if "enter-50" in cases:
            await one("enter-50", f"new segment `{ENTER_50}`", "ltv-500", ENTER_50)
    finally:
        await services.close()
    return results


def report(result: dict[str, Any]) -> str:
    loaded = result["load"]
    rows = []
    for case in result["cases"]:
        rate = case["profiles_per_s"]
        rows.append(
            [
                f"`{case['case']}`: {case['what']}",
                f"{case['profiles_checked']:,}",
                f"{case['profiles_changed']:,}",
                f"{case['seconds']:,}",
                f"{rate:,}",
                f"{case['cpu_seconds']:,}",
                f"{case['cpu_s_per_1k']:.3f}",
                "met" if rate >= GOAL else "missed",
            ]
        )
    headers = [
        "case",
        "profiles walked",
        "changed",
        "wall s",
        "profiles/s",
        "CPU s",
        "CPU s / 1k",
        f"goal {GOAL:,.0f}/s",
    ]
    return "\n".join(
        [
            f"# Segment refresh at size ({result['date']}, commit {result['commit']})",
            "",
            f"Machine: {result['machine']}; SQLite {result['sqlite']}; load average "
            f"{result['load_average']} at the start.",
            "",
            f"Store: {loaded['profiles']:,} profiles (~{loaded['profile_bytes']:,} bytes of JSON "
            f"each), loaded in {loaded['seconds']:,} s; {loaded['bytes'] / 1e9:.2f} GB.",
            "",
            "profiles/s is profiles walked per wall-clock second (all walks of the case); "
            "CPU is this process's (every thread) per 1,000 profiles walked.",
            "",
            markdown_table(headers, rows),
            "",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep", type=Path, help="load into this directory and keep it")
    parser.add_argument(
        "--reuse", type=Path, help="a directory kept by --keep: refresh a fresh copy of its store"
    )
    parser.add_argument(
        "--cases", default="enter-10,unchanged,ten-new,ten-unchanged,enter-50", help="which cases"
    )
    parser.add_argument("--name", default="segments", help="results file suffix")
    parser.add_argument("--profile", type=Path, help="write a pyinstrument profile per case here")
    args = parser.parse_args(argv)
    with open("/proc/loadavg") as loadavg:
        load_average = " ".join(loadavg.read().split()[:3])
    result: dict[str, Any] = {
        "date": datetime.now(UTC).date().isoformat(),
        **machine(),
        "load_average": load_average,
    }
    work = scratch_dir("segments-")
    try:
        if args.reuse:
            # the cases change the store (segments, memberships): run them on a copy
            result["load"] = orjson.loads((args.reuse / "load.json").read_bytes())
            shutil.copyfile(args.reuse / "kith.db", work / "kith.db")
        else:
            kept = args.keep or work
            kept.mkdir(parents=True, exist_ok=True)
            print(f"loading {args.profiles:,} profiles into {kept}", flush=True)
            result["load"] = load(kept / "kith.db", args.profiles, args.seed)
            (kept / "load.json").write_bytes(orjson.dumps(result["load"]))
            print(f"loaded: {result['load']}", flush=True)
            if args.keep:
                shutil.copyfile(args.keep / "kith.db", work / "kith.db")
        result["cases"] = asyncio.run(measure(work, args.cases.split(","), args.profile))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    save_results(result, report(result), args.name)


if __name__ == "__main__":
    main()
