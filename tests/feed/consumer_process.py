"""A feed consumer in a process of its own, for the crash and scale-out tests:
`python -m tests.feed.consumer_process STORAGE_URL OUT OWNER LEASE`.

Every entry it handles is appended to OUT as `owner seq event-id` and fsynced
before the batch is acknowledged, so what the file holds is what was handled
(at least) once. Runs until SIGTERM (clean stop) or SIGKILL (crash)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from kith.config import Settings
from kith.feed import FeedRunner
from kith.storage import open_storage
from kith.storage.ports import FeedEntry


class Recorder:
    name = "recorder"

    def __init__(self, out: Path, owner: str) -> None:
        self._out = out.open("a")
        self._owner = owner

    async def handle(self, entries: list[FeedEntry]) -> None:
        for entry in entries:
            self._out.write(f"{self._owner} {entry.position.seq} {entry.event['id']}\n")
        self._out.flush()
        os.fsync(self._out.fileno())


async def main(url: str, out: Path, owner: str, lease: float) -> None:
    settings = Settings(storage_url=url, pg_pool_size=3, pg_lock_connections=2)
    storage = open_storage(settings)
    await storage.start()
    runner = FeedRunner(
        storage, [Recorder(out, owner)], batch=50, poll=0.05, lease=lease, owner=owner
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    runner.start()
    print("ready", flush=True)
    await stop.wait()
    await runner.stop()
    await storage.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2]), sys.argv[3], float(sys.argv[4])))
