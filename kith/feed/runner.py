"""Runs the feed consumers inside `kith serve`.

Each consumer is one task: take (or renew) its lease, read the entries after
its acknowledged position, hand them to the consumer, acknowledge the last one,
repeat. It wakes when this process commits (the writer's `on_commit`) and
otherwise polls, so commits of other processes (PostgreSQL) are seen within
`poll` seconds. Losing the lease (another process took over after this one
stalled past it) stops the task from acknowledging; it goes back to claiming.
On stop, the batch in hand is finished and the leases are released, so another
process (or the next start) continues at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Protocol

from kith.domain.ids import new_id
from kith.feed.consumer import FeedConsumer, Skippable
from kith.storage.ports import FeedEntry, FeedPosition, Storage

log = logging.getLogger(__name__)


class Log(Protocol):
    """What a runner reads: the committed events (the default) or another log read the
    same way, such as async storage's ingest log."""

    @property
    def start(self) -> FeedPosition | None:
        """Where a new consumer starts (None: the head)."""
        ...

    async def read(self, after: FeedPosition, limit: int) -> list[FeedEntry]: ...


class _CommittedEvents:
    start = None

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def read(self, after: FeedPosition, limit: int) -> list[FeedEntry]:
        return await self._storage.feed.read(after, limit)


@dataclass(slots=True)
class ConsumerStatus:
    name: str
    position: FeedPosition | None = None
    holding: bool = False
    handled: int = 0
    failures: int = 0
    last_error: str | None = None


class FeedRunner:
    def __init__(
        self,
        storage: Storage,
        consumers: list[FeedConsumer],
        *,
        batch: int = 500,
        poll: float = 0.5,
        lease: float = 30.0,
        owner: str | None = None,
        log: Log | None = None,
    ) -> None:
        self._storage = storage
        self._log: Log = log if log is not None else _CommittedEvents(storage)
        self._consumers = consumers
        self._batch = batch
        self._poll = poll
        self._lease = lease
        self.owner = owner or f"feed-{new_id()}"
        self._wake: dict[str, asyncio.Event] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self.status = {consumer.name: ConsumerStatus(consumer.name) for consumer in consumers}

    def start(self) -> None:
        if not self._consumers:
            return
        self._storage.on_commit(self.wake)
        for consumer in self._consumers:
            self._wake[consumer.name] = asyncio.Event()
            self._tasks.append(
                asyncio.create_task(self._run(consumer), name=f"kith-feed-{consumer.name}")
            )

    def wake(self) -> None:
        for event in self._wake.values():
            event.set()

    async def stop(self, grace: float = 10.0) -> None:
        """Finish the batches in hand (for up to `grace` seconds), then release every lease."""
        self._stopping = True
        self.wake()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for consumer in self._consumers:
            with contextlib.suppress(Exception):
                await self._storage.feed.release(consumer.name, self.owner)

    async def _sleep(self, name: str, seconds: float) -> None:
        event = self._wake[name]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)
        event.clear()

    async def _skip(self, name: str, position: FeedPosition) -> FeedPosition | None:
        """Acknowledge the feed's head for an idle consumer; None if the lease was lost."""
        head = await self._storage.feed.head()
        if head <= position:
            return position
        if not await self._storage.feed.acknowledge(name, self.owner, head):
            log.warning("feed consumer %s lost its lease; reclaiming", name)
            return None
        self.status[name].position = head
        return head

    async def _run(self, consumer: FeedConsumer) -> None:
        status = self.status[consumer.name]
        feed = self._storage.feed
        position: FeedPosition | None = None
        renewed = 0.0
        backoff = 0.0
        while not self._stopping:
            try:
                now = time.monotonic()
                if position is None or now - renewed > self._lease / 3:
                    position = await feed.claim(
                        consumer.name, self.owner, self._lease, self._log.start
                    )
                    renewed = now
                    status.holding = position is not None
                    if position is None:  # another process holds it
                        await self._sleep(consumer.name, min(self._lease / 3, 5.0))
                        continue
                status.position = position
                skippable = consumer if isinstance(consumer, Skippable) else None
                events = isinstance(self._log, _CommittedEvents)
                if events and skippable is not None and await skippable.idle():
                    position = await self._skip(consumer.name, position)
                    await self._sleep(consumer.name, self._poll)
                    continue
                entries = await self._log.read(position, self._batch)
                if not entries:
                    await self._sleep(consumer.name, self._poll)
                    continue
                await consumer.handle(entries)
                last = entries[-1].position
                if not await feed.acknowledge(consumer.name, self.owner, last):
                    log.warning("feed consumer %s lost its lease; reclaiming", consumer.name)
                    position = None
                    continue
                position = status.position = last
                status.handled += len(entries)
                backoff = 0.0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # retried: the work is at least once
                status.failures += 1
                status.last_error = f"{type(exc).__name__}: {exc}"
                backoff = min(30.0, max(0.2, backoff * 2))
                log.exception("feed consumer %s failed; retrying in %.1fs", consumer.name, backoff)
                position = None
                await self._sleep(consumer.name, backoff)
