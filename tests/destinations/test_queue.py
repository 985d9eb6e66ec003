"""The delivery queue on both engines: in the unit of work, claims, leases, settling."""

from __future__ import annotations

import asyncio
import time

import pytest

from kith.config import Settings
from kith.domain.ids import new_id
from kith.storage.ports import Delivery, Outcome, Storage, VisitUnit
from tests.feed.helpers import event_doc, open_engine


def delivery(destination: str = "d", **fields: object) -> Delivery:
    defaults: dict[str, object] = {"event_id": "e", "profile_id": "p", "body": '{"x": 1}'}
    return Delivery(new_id(), destination, **{**defaults, **fields})  # type: ignore[arg-type]


async def test_deliveries_commit_with_the_events_that_cause_them(storage: Storage) -> None:
    event = event_doc(1)
    queued = delivery(event_id=None)
    await storage.tracking.commit_visit(VisitUnit(events=[event], deliveries=[queued]))
    (claimed,) = await storage.deliveries.claim("d", "me", 10, 30)
    assert (claimed.id, claimed.body, claimed.attempts) == (queued.id, '{"x": 1}', 1)
    assert claimed.created <= claimed.next_attempt


async def test_a_unit_that_fails_stores_neither_events_nor_deliveries(storage: Storage) -> None:
    event = event_doc(1)
    twin = delivery()
    unit = VisitUnit(events=[event], deliveries=[twin, delivery(), twin])  # a duplicate key
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        await storage.tracking.commit_visit(unit)
    assert await storage.deliveries.claim("d", "me", 10, 30) == []
    assert await storage.tracking.existing_event_ids([event["id"]]) == set()


async def test_claims_are_exclusive_until_their_lease_ends(storage: Storage) -> None:
    await storage.deliveries.add([delivery() for _ in range(10)])
    first = await storage.deliveries.claim("d", "one", 6, 0.5)
    second = await storage.deliveries.claim("d", "two", 6, 0.5)
    assert len(first) == 6 and len(second) == 4
    assert not {d.id for d in first} & {d.id for d in second}
    assert await storage.deliveries.claim("d", "three", 10, 0.5) == []
    await asyncio.sleep(0.6)  # both "died": their leases end
    again = await storage.deliveries.claim("d", "three", 20, 30)
    assert len(again) == 10 and {d.attempts for d in again} == {2}


async def test_a_late_answer_after_the_lease_changes_nothing(storage: Storage) -> None:
    await storage.deliveries.add([delivery()])
    (old,) = await storage.deliveries.claim("d", "old", 1, 0.2)
    await asyncio.sleep(0.3)
    (new,) = await storage.deliveries.claim("d", "new", 1, 30)
    assert await storage.deliveries.settle([Outcome(old.id, "old", "dead", 400, "x")]) == 0
    assert await storage.deliveries.settle([Outcome(new.id, "new", "delivered", 200)]) == 1
    page = await storage.deliveries.page("d", "delivered", None, 10)
    assert [(d.id, d.attempts, d.last_status) for d in page.items] == [(new.id, 2, 200)]


async def test_retries_wait_and_stats_count(storage: Storage) -> None:
    await storage.deliveries.add([delivery() for _ in range(3)])
    a, b, c = await storage.deliveries.claim("d", "me", 3, 30)
    await storage.deliveries.settle(
        [
            Outcome(a.id, "me", "delivered", 200),
            Outcome(b.id, "me", "dead", 400, "HTTP 400"),
            Outcome(c.id, "me", "pending", 503, "HTTP 503", retry_in=0.3),
        ]
    )
    assert await storage.deliveries.claim("d", "me", 3, 30) == []
    stats = await storage.deliveries.stats("d")
    assert (stats.pending, stats.delivered, stats.dead, stats.retries) == (1, 1, 1, 0)
    assert stats.oldest_pending is not None and stats.now >= stats.oldest_pending
    await asyncio.sleep(0.35)
    (retried,) = await storage.deliveries.claim("d", "me", 3, 30)
    assert (retried.id, retried.attempts, retried.last_status) == (c.id, 2, 503)
    assert (await storage.deliveries.stats("d")).retries == 1


async def test_debounced_deliveries_queue_once_until_claimed(storage: Storage) -> None:
    def profile_change() -> Delivery:
        return delivery(body=None, debounce="p1", delay=0.2)

    for _ in range(3):
        await storage.tracking.commit_visit(VisitUnit(deliveries=[profile_change()]))
    assert await storage.deliveries.claim("d", "me", 10, 30) == []  # not due yet
    await asyncio.sleep(0.25)
    (claimed,) = await storage.deliveries.claim("d", "me", 10, 30)
    assert claimed.body is None
    await storage.deliveries.add([profile_change()])  # a change after the claim: a new one
    assert (await storage.deliveries.stats("d")).pending == 2


async def test_replay_requeues_dead_ones_in_a_window(storage: Storage) -> None:
    await storage.deliveries.add([delivery() for _ in range(2)])
    claimed = await storage.deliveries.claim("d", "me", 2, 30)
    await storage.deliveries.settle([Outcome(d.id, "me", "dead", 400, "no") for d in claimed])
    created = claimed[0].created
    assert await storage.deliveries.replay("d", "dead", None, created - 1, 3600) == 0
    assert await storage.deliveries.replay("d", "dead", created, None, 3600) == 2
    again = await storage.deliveries.claim("d", "me", 5, 30)
    assert {d.id for d in again} == {d.id for d in claimed}
    assert {d.attempts for d in again} == {1}


async def test_two_processes_never_claim_one_delivery(store_settings: Settings) -> None:
    """Two engines on one store (on SQLite, one engine's claims from many tasks)."""
    first = open_engine(store_settings)
    await first.start()
    second = first
    if store_settings.storage_kind == "postgresql":
        second = open_engine(store_settings)
        await second.start()
    try:
        await first.deliveries.add([delivery() for _ in range(400)])

        async def drain(store: Storage, owner: str) -> list[str]:
            taken: list[str] = []
            while batch := await store.deliveries.claim("d", owner, 7, 30):
                taken += [d.id for d in batch]
            return taken

        started = time.monotonic()
        results = await asyncio.gather(
            *(drain(store, f"o{n}") for n, store in enumerate([first, second] * 4))
        )
        assert time.monotonic() - started < 30
        every = [i for taken in results for i in taken]
        assert len(every) == 400 and len(set(every)) == 400
        assert sum(1 for taken in results if taken) > 1
    finally:
        await first.close()
        if second is not first:
            await second.close()
