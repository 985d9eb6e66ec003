"""One destination's sending: its own claims, its own slots, its own connections.

A lane claims due deliveries of its destination (a small batch ahead of its free
slots), sends each in a task of its own while it holds one of `concurrency`
slots, and records outcomes in batches. A receiver that hangs fills only this
lane's slots; the other lanes claim and send as before. An attempt that fails is
scheduled again (see `retry`); one that must not be retried, or whose delivery
reached its `max_age`, makes the delivery dead."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from dataclasses import dataclass, field

from kith.destinations.kind import Attempt, DestinationKind, Outgoing
from kith.destinations.metrics import DestinationMetrics
from kith.destinations.pressure import LoopPressure
from kith.destinations.retry import RetryPolicy, failed
from kith.destinations.routing import Route
from kith.storage.ports import Delivery, Outcome, Storage

log = logging.getLogger(__name__)
CLAIM_AHEAD = 0.25
"""Seconds of sending one claim takes ahead, at the destination's recent pace: a fast
receiver gets big claims (few trips to the store), a slow one small claims (short
leases, and little held back from other processes)."""
PRESSED_FLOOR = 2
"""Sends a lane keeps in flight while the event loop is busy (see `pressure`)."""
PRESSED_PAUSE = 0.05
SETTLE_PAUSE = 0.02
"""Seconds between two writes of outcomes, so outcomes are recorded in batches."""


@dataclass(slots=True, frozen=True)
class LaneSettings:
    poll: float = 0.5
    """Seconds an idle lane waits before looking for due deliveries again (commits of
    this process wake it at once)."""
    lease: float = 60.0
    """Seconds beyond its sending time a claim is held; a process that died lets its
    claimed deliveries become due again after this."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    grace: float = 5.0
    """Seconds a stopping lane waits for the attempts in flight."""


class Lane:
    def __init__(
        self,
        route: Route,
        storage: Storage,
        owner: str,
        settings: LaneSettings,
        metrics: DestinationMetrics,
        pressure: LoopPressure,
    ) -> None:
        self.route = route
        self._storage = storage
        self._owner = owner
        self._settings = settings
        self.metrics = metrics
        self._pressure = pressure
        kind = route.kind
        self._kind: DestinationKind = type(kind)(kind.config, kind.mapping)  # type: ignore[type-arg]
        self._batch = max(1, kind.batch_size)
        self._round = route.concurrency * self._batch
        """Deliveries one round of the lane's slots sends."""
        self._took = self._kind.timeout
        """Seconds one send takes, a moving average (it starts at the worst case)."""
        self._wake = asyncio.Event()
        self._stopping = False
        self._waiting_for_slot = False
        self._slots = asyncio.Semaphore(route.concurrency)
        self._sending: set[asyncio.Task[None]] = set()
        self._results: list[Outcome] = []
        self._flushing: asyncio.Task[None] | None = None
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name=f"kith-destination-{self.route.id}")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._waiting_for_slot and self.task is not None:
            self.task.cancel()  # every slot is held (by a hanging receiver): stop waiting
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()

    async def _run(self) -> None:
        await self._kind.open(self.route.concurrency)
        backlog: deque[Delivery] = deque()
        failures = 0
        try:
            while not self._stopping:
                if not backlog:
                    try:
                        size, lease = self._claim_size()
                        backlog.extend(
                            await self._storage.deliveries.claim(
                                self.route.id, self._owner, size, lease
                            )
                        )
                        failures = 0
                    except Exception:  # the store is away: try again, more slowly
                        failures += 1
                        log.exception("destination %s could not claim deliveries", self.route.id)
                        await self._sleep(min(30.0, self._settings.poll * 2**failures))
                        continue
                    if not backlog:
                        await self._sleep(self._settings.poll)
                        continue
                self._waiting_for_slot = True
                try:
                    await self._slots.acquire()
                    # polled: pressure is a measurement, not an event anyone sets
                    while self._pressure.busy and len(self._sending) >= PRESSED_FLOOR:  # noqa: ASYNC110
                        await asyncio.sleep(PRESSED_PAUSE)  # the collector goes first
                finally:
                    self._waiting_for_slot = False
                if self._stopping:
                    self._slots.release()
                    break
                batch = [backlog.popleft() for _ in range(min(self._batch, len(backlog)))]
                task = asyncio.create_task(self._deliver(batch))
                self._sending.add(task)
                task.add_done_callback(self._sent)
        finally:
            await self._wind_down(backlog)

    def _claim_size(self) -> tuple[int, float]:
        """How many to claim, and for how long: the time they take to send at the
        recent pace (twice over), plus one timeout, plus the configured lease."""
        rounds = max(2, min(64, math.ceil(CLAIM_AHEAD / max(self._took, 0.001))))
        size = min(500, self._round * rounds)
        sending = math.ceil(size / self._round) * self._took * 2
        return size, self._settings.lease + self._kind.timeout + 5 + sending

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        self._slots.release()

    async def _wind_down(self, backlog: deque[Delivery]) -> None:
        """Finish the attempts in flight (for up to `grace`), hand back the claimed
        deliveries not yet tried, record every outcome, close the connections."""
        if self._sending:
            _, pending = await asyncio.wait(set(self._sending), timeout=self._settings.grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self._results.extend(self._handed_back(d) for d in backlog)
        if self._flushing is not None:
            await asyncio.gather(self._flushing, return_exceptions=True)
        await self._flush()
        await self._kind.close()

    async def _deliver(self, batch: list[Delivery]) -> None:
        metrics = self.metrics
        now = time.time()
        outcomes: list[Outcome] = []
        live: list[tuple[Delivery, Outgoing]] = []
        for delivery in batch:
            if delivery.expires <= now * 1_000_000:
                outcomes.append(self._dead(delivery, "expired before it could be sent"))
                continue
            body = delivery.body
            if body is None:
                try:
                    body = await self._profile_body(delivery)
                except Exception:  # the store is away: due again at once, not counted
                    log.exception("destination %s: could not read a profile", self.route.id)
                    outcomes.append(self._handed_back(delivery))
                    continue
                if body is None:
                    outcomes.append(self._dead(delivery, "the profile no longer exists"))
                    continue
            live.append((delivery, Outgoing(delivery.id, body)))
        if live:
            metrics.attempts += 1
            metrics.in_flight += len(live)
            started = time.monotonic()
            try:
                attempt = await self._attempt([item for _, item in live])
                self._took = 0.8 * self._took + 0.2 * (time.monotonic() - started)
            except asyncio.CancelledError:  # stopping: hand them back, this try not counted
                self._results.extend(self._handed_back(d) for d, _ in live)
                raise
            finally:
                metrics.in_flight -= len(live)
            metrics.last_status, metrics.last_error = attempt.status, attempt.error
            now = time.time()
            outcomes.extend(self._outcome(delivery, attempt, now) for delivery, _ in live)
        self._results.extend(outcomes)
        if self._flushing is None:
            self._flushing = asyncio.create_task(self._flush())

    async def _attempt(self, items: list[Outgoing]) -> Attempt:
        try:
            async with asyncio.timeout(self._kind.timeout + 5):
                return await self._kind.send(items)
        except TimeoutError as error:
            return failed(error)
        except Exception as error:  # a kind's own bug must not stop the lane
            log.exception("destination %s: sending failed", self.route.id)
            return failed(error)

    async def _profile_body(self, delivery: Delivery) -> str | None:
        """A profile destination sends the profile as it is now (merged ids followed)."""
        if delivery.profile_id is None:
            return None
        tracking = self._storage.tracking
        current = await tracking.resolve_profile_id(delivery.profile_id) or delivery.profile_id
        profile = await tracking.get_profile(current)
        return None if profile is None else self.route.body({"profile": profile})

    def _handed_back(self, delivery: Delivery) -> Outcome:
        """Due again at once, the claim's attempt not counted: it never happened."""
        return Outcome(
            delivery.id, self._owner, "pending", delivery.last_status, delivery.last_error, 0, False
        )

    def _dead(self, delivery: Delivery, why: str) -> Outcome:
        self.metrics.dead += 1
        return Outcome(delivery.id, self._owner, "dead", delivery.last_status, why)

    def _outcome(self, delivery: Delivery, attempt: Attempt, now: float) -> Outcome:
        metrics = self.metrics
        if attempt.delivered:
            metrics.delivered += 1
            return Outcome(delivery.id, self._owner, "delivered", attempt.status, None)
        left = delivery.expires / 1_000_000 - now
        if not attempt.retry or left <= 0:
            metrics.dead += 1
            why = attempt.error if attempt.retry is False else f"expired: {attempt.error}"
            return Outcome(delivery.id, self._owner, "dead", attempt.status, why)
        metrics.retried += 1
        wait = self._settings.retry.delay(delivery.attempts, attempt.retry_after)
        return Outcome(
            delivery.id,
            self._owner,
            "pending",
            attempt.status,
            attempt.error,
            retry_in=min(wait, left),
        )

    async def _flush(self) -> None:
        try:
            while self._results:
                batch, self._results = self._results, []
                try:
                    await self._storage.deliveries.settle(batch)
                except Exception:  # left claimed: retried when their lease ends
                    log.exception("destination %s: could not record outcomes", self.route.id)
                if not self._stopping:
                    await asyncio.sleep(SETTLE_PAUSE)
        finally:
            self._flushing = None
