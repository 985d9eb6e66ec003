"""The data API's storage queries on a real SQLite store: paging, stats, search, erase."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kith.domain.clock import iso
from kith.domain.event import build_event
from kith.domain.ids import new_id
from kith.domain.profile import count_visit, new_profile
from kith.domain.session import new_session
from kith.storage.ports import EventFilter, Page, ProfileQuery, SessionFilter, VisitUnit
from kith.storage.sqlite.engine import SQLiteStorage

T0 = datetime(2026, 3, 1, tzinfo=UTC)
Doc = dict[str, Any]


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[SQLiteStorage]:
    store = SQLiteStorage(tmp_path / "kith.db", synchronous="normal")
    await store.start()
    yield store
    await store.close()


def event(
    profile: Doc | None,
    session: Doc | None,
    at: datetime,
    *,
    kind: str = "page-view",
    source: str = "web",
    channel: str = "web",
    tags: list[str] | None = None,
) -> Doc:
    return build_event(
        event_id=new_id(),
        event_type=kind,
        source_id=source,
        channel=channel,
        now=iso(at),
        created=None,
        session=session,
        profile_id=profile["id"] if profile else None,
        profile_less=profile is None,
        properties={},
        context={},
        tags=tags or [],
        request={"headers": {}, "ip": None},
        page=None,
    )


async def visit(
    storage: SQLiteStorage,
    at: datetime,
    events: int = 1,
    *,
    profile: Doc | None = None,
    **kind: Any,
) -> tuple[Doc, Doc, list[Doc]]:
    """A profile (new unless given) with a new session holding `events` events from `at`."""
    profile = profile or new_profile(new_id(), iso(at))
    session = new_session(new_id(), profile["id"], "web", iso(at))
    count_visit(profile, iso(at))
    profile["metadata"]["time"]["update"] = iso(at)
    stored = [event(profile, session, at + timedelta(seconds=n), **kind) for n in range(events)]
    unit = VisitUnit(profile=profile, session=session, events=stored)
    unit.identities.append(("id", profile["id"], profile["id"]))
    await storage.tracking.commit_visit(unit)
    return profile, session, stored


async def walk(fetch: Any, limit: int) -> list[Doc]:
    items: list[Doc] = []
    cursor: str | None = None
    while True:
        page: Page[Doc] = await fetch(cursor, limit)
        items.extend(page.items)
        cursor = page.next
        if cursor is None:
            return items


async def test_event_pages_neither_repeat_nor_skip_while_rows_arrive(
    storage: SQLiteStorage,
) -> None:
    _, _, first = await visit(storage, T0, 120)
    seen: list[str] = []
    cursor: str | None = None
    step = 0
    while True:
        page = await storage.data.list_events(EventFilter(), cursor, 7)
        seen.extend(item["id"] for item in page.items)
        # newer rows (and rows with the same time) land between pages
        await visit(storage, T0 + timedelta(hours=1, seconds=step), 2)
        await visit(storage, T0 + timedelta(seconds=step % 120), 1)
        step += 1
        cursor = page.next
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert {e["id"] for e in first} <= set(seen)


async def test_deep_paging_walks_every_row_once_in_order(storage: SQLiteStorage) -> None:
    profile, _, _ = await visit(storage, T0, 0)
    expected: list[str] = []
    for batch in range(10):
        at = T0 + timedelta(minutes=10 * batch)
        _, _, stored = await visit(storage, at, 300, profile=profile)
        expected.extend(e["id"] for e in stored)
    where = EventFilter(type="page-view")
    items = await walk(lambda c, n: storage.data.list_events(where, c, n), 13)
    assert [e["id"] for e in items] == list(reversed(expected))


async def test_same_time_rows_are_ordered_by_their_tiebreak(storage: SQLiteStorage) -> None:
    profile = new_profile(new_id(), iso(T0))
    session = new_session(new_id(), profile["id"], "web", iso(T0))
    same = [event(profile, session, T0) for _ in range(25)]
    await storage.tracking.commit_visit(VisitUnit(profile=profile, session=session, events=same))
    items = await walk(lambda c, n: storage.data.list_events(EventFilter(), c, n), 4)
    assert sorted(e["id"] for e in items) == sorted(e["id"] for e in same)
    assert len(items) == 25


async def test_status_and_tag_filters(storage: SQLiteStorage) -> None:
    await visit(storage, T0, 3, tags=["vip", "b2b"])
    await visit(storage, T0 + timedelta(minutes=1), 2, tags=["b2b"])
    tagged = await storage.data.list_events(EventFilter(tag="vip"), None, 100)
    assert len(tagged.items) == 3
    both = await storage.data.list_events(EventFilter(tag="b2b", status="collected"), None, 100)
    assert len(both.items) == 5
    none = await storage.data.list_events(EventFilter(status="processed"), None, 100)
    assert none.items == []


async def test_stats_buckets_by_type_source_channel(storage: SQLiteStorage) -> None:
    await visit(storage, T0 + timedelta(minutes=5), 3)  # 3 page-views in hour 0
    await visit(storage, T0 + timedelta(hours=1, minutes=1), 2, kind="purchase", source="app")
    await visit(storage, T0 + timedelta(hours=2), 1, channel="mobile", source="app")
    await visit(storage, T0 - timedelta(minutes=1), 4)  # outside the range
    stats = await storage.data.event_stats("hour", T0, T0 + timedelta(hours=4), "type")
    counts = [(b["time"], b["count"], b["groups"]) for b in stats["buckets"]]
    assert counts == [
        ("2026-03-01T00:00:00.000000Z", 3, {"page-view": 3}),
        ("2026-03-01T01:00:00.000000Z", 2, {"purchase": 2}),
        ("2026-03-01T02:00:00.000000Z", 1, {"page-view": 1}),
        ("2026-03-01T03:00:00.000000Z", 0, {}),
    ]
    by_source = await storage.data.event_stats("day", T0, T0 + timedelta(days=1), "source")
    assert by_source["buckets"] == [
        {"time": "2026-03-01T00:00:00.000000Z", "count": 6, "groups": {"app": 3, "web": 3}}
    ]
    by_channel = await storage.data.event_stats("day", T0, T0 + timedelta(days=1), "channel")
    assert by_channel["buckets"][0]["groups"] == {"web": 5, "mobile": 1}
    total = await storage.data.event_stats("minute", T0, T0 + timedelta(minutes=10), None)
    assert [b["count"] for b in total["buckets"]] == [0, 0, 0, 0, 0, 3, 0, 0, 0, 0]
    assert "groups" not in total["buckets"][0]


async def test_stats_range_not_on_a_boundary(storage: SQLiteStorage) -> None:
    await visit(storage, T0 + timedelta(minutes=10), 1)
    await visit(storage, T0 + timedelta(minutes=40), 1)
    stats = await storage.data.event_stats(
        "hour", T0 + timedelta(minutes=30), T0 + timedelta(minutes=90), None
    )
    assert [(b["time"], b["count"]) for b in stats["buckets"]] == [
        ("2026-03-01T00:00:00.000000Z", 1),
        ("2026-03-01T01:00:00.000000Z", 0),
    ]


async def test_profile_search(storage: SQLiteStorage) -> None:
    # fixed ids without digits: a random id could contain "42" and match by chance
    alice = new_profile("profile-alice", iso(T0))
    alice["data"]["contact"]["email"]["main"] = "alice@example.com"
    alice["data"]["pii"]["firstname"] = "Alice"
    alice["traits"] = {"tier": "Gold", "score": 42}
    await visit(storage, T0, 1, profile=alice)
    bob = new_profile("profile-bobby", iso(T0))
    bob["data"]["pii"]["lastname"] = "Bobson"
    bob["data"]["contact"]["phone"]["main"] = "+441234567890"
    await visit(storage, T0 + timedelta(hours=1), 1, profile=bob)

    async def ids(**query: Any) -> set[str]:
        page = await storage.data.search_profiles(ProfileQuery(**query), None, 100)
        return {p["id"] for p in page.items}

    assert await ids(q="ALICE@example.com") == {alice["id"]}
    assert await ids(q="example.com") == {alice["id"]}
    assert await ids(q="gold") == {alice["id"]}
    assert await ids(q="42") == {alice["id"]}
    assert await ids(q="bobs") == {bob["id"]}
    assert await ids(q="4412345") == {bob["id"]}
    assert await ids(q=bob["id"]) == {bob["id"]}
    assert await ids(q=bob["id"][-6:]) == {bob["id"]}
    assert await ids(q="nobody") == set()
    assert await ids(q="metadata") == set()  # keys and other fields are not searched
    assert await ids(updated_from=T0 + timedelta(minutes=30)) == {bob["id"]}
    assert await ids(updated_to=T0 + timedelta(minutes=30)) == {alice["id"]}
    assert await ids(visited_from=T0 + timedelta(minutes=30)) == {bob["id"]}
    assert await ids(visited_to=T0 + timedelta(minutes=30)) == {alice["id"]}
    assert await ids(segment="vip") == set()


async def test_profile_paging_is_newest_first_and_complete(storage: SQLiteStorage) -> None:
    made = [(await visit(storage, T0 + timedelta(seconds=n % 5), 0))[0]["id"] for n in range(23)]
    items = await walk(lambda c, n: storage.data.search_profiles(ProfileQuery(), c, n), 4)
    assert sorted(p["id"] for p in items) == sorted(made)
    keys = [(p["metadata"]["time"]["update"], p["id"]) for p in items]
    assert keys == sorted(keys, reverse=True)


async def test_sessions_by_profile_and_time(storage: SQLiteStorage) -> None:
    profile, first, _ = await visit(storage, T0, 1)
    _, second, _ = await visit(storage, T0 + timedelta(days=1), 1, profile=profile)
    _, other, _ = await visit(storage, T0 + timedelta(hours=1), 1)
    mine = await storage.data.list_sessions(SessionFilter(profile=profile["id"]), None, 10)
    assert [s["id"] for s in mine.items] == [second["id"], first["id"]]
    window = SessionFilter(from_=T0 + timedelta(minutes=1), to=T0 + timedelta(days=1))
    assert [s["id"] for s in (await storage.data.list_sessions(window, None, 10)).items] == [
        other["id"]
    ]
    every = await walk(lambda c, n: storage.data.list_sessions(SessionFilter(), c, n), 1)
    assert [s["id"] for s in every] == [second["id"], other["id"], first["id"]]


async def test_erase_counts_and_leaves_nothing(storage: SQLiteStorage) -> None:
    profile, session, _ = await visit(storage, T0, 4)
    await visit(storage, T0 + timedelta(hours=1), 3, profile=profile)
    # a profile-less hit in the person's session, and an id merged into it
    await storage.tracking.commit_visit(
        VisitUnit(events=[event(None, session, T0 + timedelta(minutes=1))])
    )
    profile["ids"].append("old-id")
    await storage.tracking.commit_visit(
        VisitUnit(
            profile=profile,
            identities=[("id", "old-id", profile["id"]), ("email", "e@x.io", profile["id"])],
        )
    )
    other, _, _ = await visit(storage, T0, 2)

    erased = await storage.erasure.erase_profile(profile["id"])
    assert erased is not None
    assert (erased.profiles, erased.ids, erased.sessions, erased.events, erased.identities) == (
        1,
        2,
        2,
        8,
        3,
    )
    assert await storage.tracking.get_profile(profile["id"]) is None
    assert await storage.tracking.resolve_profile_id("old-id") is None
    assert await storage.tracking.get_session(session["id"]) is None
    assert (
        await storage.data.list_events(EventFilter(profile=profile["id"]), None, 10)
    ).items == []
    left = await storage.data.list_events(EventFilter(), None, 100)
    assert {e["profile"]["id"] for e in left.items} == {other["id"]}
    assert await storage.erasure.erase_profile(profile["id"]) is None


async def test_export_pages_run_oldest_first_within_the_range(storage: SQLiteStorage) -> None:
    for hour in range(5):
        await visit(storage, T0 + timedelta(hours=hour), 3)
    rows = await walk(
        lambda c, n: storage.erasure.export_page(
            "events", T0 + timedelta(hours=1), T0 + timedelta(hours=4), c, n
        ),
        4,
    )
    assert len(rows) == 9
    times = [e["metadata"]["time"]["insert"] for e in rows]
    assert times == sorted(times)
    assert (
        await storage.erasure.count_rows("events", T0 + timedelta(hours=1), T0 + timedelta(hours=4))
        == 9
    )
    assert await storage.erasure.count_rows("profiles", None, None) == 5
    sessions = await walk(lambda c, n: storage.erasure.export_page("sessions", None, None, c, n), 2)
    assert len(sessions) == 5


async def test_concurrent_writers_and_a_reader(storage: SQLiteStorage) -> None:
    """A walk that starts before a burst of inserts sees exactly the rows older than its start."""
    for n in range(60):
        await visit(storage, T0 + timedelta(seconds=n), 1)
    before = {e["id"] for e in (await storage.data.list_events(EventFilter(), None, 1000)).items}

    async def writer() -> None:
        for n in range(40):
            await visit(storage, T0 + timedelta(minutes=5, seconds=n), 1)

    async def reader() -> list[str]:
        seen: list[str] = []
        cursor: str | None = None
        while True:
            page = await storage.data.list_events(EventFilter(), cursor, 3)
            seen.extend(e["id"] for e in page.items)
            await asyncio.sleep(0)
            cursor = page.next
            if cursor is None:
                return seen

    seen, _ = await asyncio.gather(reader(), writer())
    assert len(seen) == len(set(seen))
    assert before <= set(seen)


async def test_paging_inside_a_time_range_keeps_to_the_range(storage: SQLiteStorage) -> None:
    """With both a range and a cursor only one bounds the index walk; results are the same."""
    stored: list[Doc] = []
    for minute in range(6):
        stored += (await visit(storage, T0 + timedelta(minutes=minute), 20))[2]
    start, end = T0 + timedelta(minutes=1, seconds=5), T0 + timedelta(minutes=4, seconds=3)
    expected = [
        e["id"]
        for e in reversed(stored)
        if iso(start) <= e["metadata"]["time"]["insert"] < iso(end)
    ]
    where = EventFilter(type="page-view", from_=start, to=end)
    items = await walk(lambda c, n: storage.data.list_events(where, c, n), 7)
    assert [e["id"] for e in items] == expected
    up = await walk(lambda c, n: storage.erasure.export_page("events", start, end, c, n), 7)
    assert [e["id"] for e in up] == list(reversed(expected))
    sessions = await walk(
        lambda c, n: storage.data.list_sessions(SessionFilter(to=T0 + timedelta(minutes=3)), c, n),
        1,
    )
    assert len(sessions) == 3
    profiles = await walk(
        lambda c, n: storage.data.search_profiles(
            ProfileQuery(updated_to=T0 + timedelta(minutes=4)), c, n
        ),
        1,
    )
    assert len(profiles) == 4
