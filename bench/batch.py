"""CPU per payload of batches, in process: no HTTP server, no wrk, no network.

    .venv/bin/python -m bench.batch                       # single, put_batch, bulk; 3 rounds
    .venv/bin/python -m bench.batch --shapes put_batch --rounds 6 --payloads 5000
    .venv/bin/python -m bench.batch --ingest 10000         # the async ingest processor

Builds the app (a fresh SQLite store, `synchronous=full`), creates the source
`bench-web`, then drives it through ASGI calls from 64 concurrent "connections",
with the bodies of `bench/scenarios`: `single` posts one put_batch payload (a new
session, a user agent, one page-view) per request, `put_batch` puts 50 of them per
request, `bulk` posts one payload of 100 events per request. The shapes alternate
in every round. CPU is the whole process's (`time.process_time`: the event loop, the
writer thread, the readers) per payload, which a busy neighbour on a shared machine
moves far less than a rate. Comparing two versions of the code: run this from one
checkout with `PYTHONPATH=<other checkout>`, alternating a few minutes apart.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import secrets
import shutil
import statistics
import threading
import time
import uuid
from pathlib import Path

from bench._common import call, scratch_dir
from kith.app import KithApp, build_app, tune_garbage_collector
from kith.config import Settings

USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
_ONE = (
    '{"source":{"id":"bench-web"},"session":{"id":"@SID@"},'
    '"context":{"browser":{"local":{"browser":{"name":"chrome",'
    f'"userAgent":"{USER_AGENT}","language":"pl-PL"}}}}}}}},'
    '"properties":{},'
    '"events":[{"type":"page-view","properties":{},"options":{},"context":{"page":{'
    '"url":"https://shop.example.com/landing","title":"Landing"}}}],"options":{}}'
)


def _bulk_events() -> str:
    parts = []
    for i in range(1, 101):
        item = (i - 1) % 50 + 1
        if i % 2 == 1:
            parts.append(
                f'{{"type":"page-view","properties":{{"page":"/p/{item}","title":"Item {item}"}},'
                '"options":{}}'
            )
        else:
            parts.append(
                f'{{"type":"product-view","properties":{{"sku":"SKU-{item:03d}",'
                f'"price":{10 + item}.9,"currency":"EUR"}},"options":{{}}}}'
            )
    return ",".join(parts)


_BULK = (
    '{"source":{"id":"bench-web"},"session":{"id":"@SID@"},'
    '"context":{"browser":{"local":{"browser":{"name":"chrome",'
    f'"userAgent":"{USER_AGENT}",'
    '"language":"pl-PL","platform":"Win32","cookieEnabled":true}}}},'
    '"properties":{},'
    f'"events":[{_bulk_events()}],"options":{{}}}}'
)
SHAPES = {"single": ("POST", 1), "put_batch": ("PUT", 50), "bulk": ("POST", 1)}


TICKS = os.sysconf("SC_CLK_TCK")


def writer_cpu() -> float:
    """CPU seconds of the group-commit writer thread so far (0 when not found)."""
    for thread in threading.enumerate():
        if thread.name == "kith-writer" and thread.native_id is not None:
            fields = Path(f"/proc/self/task/{thread.native_id}/stat").read_text()
            utime, stime = fields.rsplit(")", 1)[1].split()[11:13]
            return (int(utime) + int(stime)) / TICKS
    return 0.0


def body(shape: str, ids: itertools.count[int], prefix: str) -> bytes:
    def sid() -> str:
        return f"{prefix}-{next(ids):012x}"

    if shape == "bulk":
        return _BULK.replace("@SID@", sid()).encode()
    if shape == "single":
        return _ONE.replace("@SID@", sid()).encode()
    return ("[" + ",".join(_ONE.replace("@SID@", sid()) for _ in range(50)) + "]").encode()


async def drive(app: KithApp, shape: str, payloads: int, connections: int) -> None:
    method, per = SHAPES[shape]
    headers = [(b"content-type", b"application/json"), (b"user-agent", USER_AGENT.encode())]
    requests = iter(range(max(payloads // per, 1)))
    ids = itertools.count()
    prefix = str(uuid.uuid4())[:23]

    async def connection() -> None:
        for _ in requests:
            status = await call(app, method, "/track", body(shape, ids, prefix), headers)
            assert status == 200, status

    await asyncio.gather(*(connection() for _ in range(connections)))


async def ingest(payloads: int, scratch: Path) -> None:
    """Async storage: `payloads` new-visitor payloads logged (PUT batches with
    `options.async`, background work off so they wait), then the ingest processor
    runs the log in batches of `ingest_batch` (500), as its feed runner would."""
    key = "bench-" + secrets.token_urlsafe(24)
    settings = Settings(data_dir=scratch / "ingest", bootstrap_admin_key=key, background_work=False)
    app = build_app(settings)
    tune_garbage_collector()
    headers = [(b"content-type", b"application/json"), (b"user-agent", USER_AGENT.encode())]
    one = _ONE.replace('"options":{}}', '"options":{"async":true}}')
    async with app.router.lifespan_context(app):
        source = b'{"id":"bench-web","bridges":["rest"]}'
        auth = [(b"authorization", f"Bearer {key}".encode()), *headers[:1]]
        assert await call(app, "POST", "/api/sources", source, auth) == 201
        prefix = str(uuid.uuid4())[:23]
        for start in range(0, payloads, 50):
            items = [one.replace("@SID@", f"{prefix}-{n:012x}") for n in range(start, start + 50)]
            batch = ("[" + ",".join(items) + "]").encode()
            assert await call(app, "PUT", "/track", batch, headers) == 200
        services = app.state.services
        runner = services.ingest_runner
        log, processor = runner._log, runner._consumers[0]
        position = log.start
        cpu, wall, writer = time.process_time(), time.perf_counter(), writer_cpu()
        commits = services.storage.writer_stats().commits
        done = 0
        while entries := await log.read(position, settings.ingest_batch):
            await processor.handle(entries)
            position = entries[-1].position
            done += len(entries)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        writer = writer_cpu() - writer
        commits = services.storage.writer_stats().commits - commits
        print(
            f"ingest: {done} payloads, {cpu / done * 1e6:.1f} us CPU per payload"
            f" ({writer / done * 1e6:.1f} in the writer thread), {done / wall:,.0f} payloads/s,"
            f" {commits} commits",
            flush=True,
        )


async def run(
    shapes: list[str], rounds: int, payloads: int, connections: int, scratch: Path
) -> None:
    key = "bench-" + secrets.token_urlsafe(24)
    app = build_app(Settings(data_dir=scratch / "store", bootstrap_admin_key=key))
    tune_garbage_collector()
    figures: dict[str, list[float]] = {shape: [] for shape in shapes}
    async with app.router.lifespan_context(app):
        source = b'{"id":"bench-web","bridges":["rest"]}'
        auth = [
            (b"authorization", f"Bearer {key}".encode()),
            (b"content-type", b"application/json"),
        ]
        assert await call(app, "POST", "/api/sources", source, auth) == 201
        for shape in shapes:
            await drive(app, shape, payloads // 4, connections)
        for round_ in range(rounds):
            order = shapes if round_ % 2 == 0 else shapes[::-1]
            for shape in order:
                count = payloads // 20 if shape == "bulk" else payloads
                cpu, wall, writer = time.process_time(), time.perf_counter(), writer_cpu()
                await drive(app, shape, count, connections)
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                writer = writer_cpu() - writer
                us = cpu / count * 1e6
                figures[shape].append(us)
                rate = count / wall * (100 if shape == "bulk" else 1)
                unit = "events/s" if shape == "bulk" else "payloads/s"
                print(
                    f"round {round_ + 1} {shape:9}: {us:8.1f} us CPU per payload"
                    f" ({writer / count * 1e6:6.1f} in the writer thread),"
                    f" {rate:8,.0f} {unit} (wall, noisy)",
                    flush=True,
                )
    for shape, values in figures.items():
        print(f"median {shape:9}: {statistics.median(values):8.1f} us CPU per payload")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shapes", default="single,put_batch,bulk")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--payloads", type=int, default=4000, help="per round (bulk: 1/20)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--ingest", type=int, default=0, help="payloads through the ingest log")
    args = parser.parse_args(argv)
    scratch = scratch_dir("batch-")
    try:
        if args.ingest:
            asyncio.run(ingest(args.ingest, scratch))
        else:
            asyncio.run(
                run(args.shapes.split(","), args.rounds, args.payloads, args.connections, scratch)
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
