"""The data API's storage queries on a real PostgreSQL store.

Three layers of checks:
- every test of tests/storage/test_data_queries.py (the embedded engine's suite)
  runs here again, unchanged, against a `PostgresStorage`: its `storage` fixture is
  replaced by this module's, so the same assertions hold on both engines;
- a parity test writes one data set to both engines and compares every answer,
  page by page: the two stores must not be told apart by a client;
- checks of what only PostgreSQL has: monthly partitions, `seq` cursors, cursor
  types, events without a channel, search input that means something to SQL.

PostgreSQL must be reachable (`KITH_TEST_POSTGRES`, default the local server with
trust auth). When it is not, the fixture's connection error fails the test: these
tests never skip. Every test gets a schema of its own, dropped afterwards."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest

from kith.domain.clock import iso
from kith.domain.errors import InvalidPayload
from kith.domain.ids import new_id
from kith.domain.profile import new_profile
from kith.domain.session import new_session
from kith.storage.cursor import decode_cursor, encode_cursor
from kith.storage.ports import EventFilter, Page, ProfileQuery, SessionFilter, VisitUnit
from kith.storage.postgres import data_queries
from kith.storage.postgres.engine import PostgresStorage
from kith.storage.sqlite.engine import SQLiteStorage
from tests.postgres import SERVER
from tests.storage import test_data_queries as sqlite_suite
from tests.storage.test_data_queries import T0, Doc, event, visit, walk

DATABASE = "test"


# the embedded engine's suite, run on PostgreSQL -------------------------------------
def _shared_tests() -> dict[str, Callable[..., Any]]:
    """Every test function of the SQLite suite, except those marked `sqlite_only`."""
    shared: dict[str, Callable[..., Any]] = {}
    for name, function in vars(sqlite_suite).items():
        if not (name.startswith("test_") and inspect.iscoroutinefunction(function)):
            continue
        marks = getattr(function, "pytestmark", [])
        if any(mark.name == "sqlite_only" for mark in marks):
            continue
        shared[name] = function
    return shared


# collected here under their own names, with this module's `storage` fixture
globals().update(_shared_tests())


async def _drop_schema(schema: str) -> None:
    conn = await asyncpg.connect(f"{SERVER}/{DATABASE}")
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@pytest.fixture
async def storage() -> AsyncIterator[PostgresStorage]:
    schema = f"t_{uuid.uuid4().hex[:16]}"
    store = PostgresStorage(f"{SERVER}/{DATABASE}?schema={schema}", pool_size=4)
    try:
        await store.start()
        yield store
    finally:
        await store.close()
        await _drop_schema(schema)


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[SQLiteStorage]:
    store = SQLiteStorage(tmp_path / "kith.db", synchronous="normal")
    await store.start()
    yield store
    await store.close()


def test_the_sqlite_suite_is_shared() -> None:
    """Guards the reuse above: a rename there must not silently empty this file."""
    assert len(_shared_tests()) >= 10
    assert "test_erase_counts_and_leaves_nothing" in globals()


# parity: one data set, two engines, the same answers ----------------------------------
async def _seed(store: Any, profiles: list[Doc], sessions: list[Doc], events: list[Doc]) -> None:
    """Write the same documents in the same order; each engine gets its own deep copies,
    so nothing one of them does to a document can leak into the other."""
    by_profile: dict[str, tuple[list[Doc], list[Doc]]] = {p["id"]: ([], []) for p in profiles}
    for session in sessions:
        by_profile[session["profile"]["id"]][0].append(session)
    loose: list[Doc] = []
    for item in events:
        owner = item["profile"]["id"] if item["profile"] else None
        (by_profile[owner][1] if owner else loose).append(item)
    for profile in profiles:
        owned_sessions, owned_events = by_profile[profile["id"]]
        identities = [("id", value, profile["id"]) for value in profile["ids"]]
        email = profile["data"]["contact"]["email"].get("main")
        if email:
            identities.append(("email", email.lower(), profile["id"]))
        phone = profile["data"]["contact"]["phone"].get("main")
        if phone:
            identities.append(("phone", phone, profile["id"]))
        await store.tracking.commit_visit(VisitUnit(profile=_copy(profile), identities=identities))
        for session in owned_sessions:
            mine = [e for e in owned_events if e["session"]["id"] == session["id"]]
            await store.tracking.commit_visit(VisitUnit(session=_copy(session), events=_copy(mine)))
    await store.tracking.commit_visit(VisitUnit(events=_copy(loose)))


def _copy(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value))


def _dataset() -> tuple[list[Doc], list[Doc], list[Doc]]:
    profiles: list[Doc] = []
    sessions: list[Doc] = []
    events: list[Doc] = []
    people = [
        ("alice@example.com", "Alice", "Liddell", {"tier": "Gold", "score": 42}, ["vip"]),
        ("bob@example.org", "Bob", "Bobson", {"tier": "silver", "nested": {"x": ["deep"]}}, []),
        (None, "Élodie", None, {"flag": True, "ratio": 1.5}, ["vip", "b2b"]),
        ("carol_100%@example.com", None, "O'Hara", {}, []),
    ]
    for n, (email, first, last, traits, segments) in enumerate(people * 3):
        at = T0 + timedelta(minutes=7 * n)
        profile = new_profile(new_id(), iso(at))
        if email:
            profile["data"]["contact"]["email"]["main"] = f"{n}.{email}"
        if n % 4 == 1:
            profile["data"]["contact"]["phone"]["main"] = f"+4412345{n:05d}"
        if first:
            profile["data"]["pii"]["firstname"] = first
        if last:
            profile["data"]["pii"]["lastname"] = last
        profile["traits"] = traits
        profile["segments"] = segments
        # a few profiles share one update time: the id breaks the tie
        update = at if n % 3 else T0 + timedelta(hours=5)
        profile["metadata"]["time"]["update"] = iso(update)
        profile["metadata"]["time"]["visit"]["current"] = iso(at + timedelta(seconds=30))
        profiles.append(profile)
        for s in range(n % 3 + 1):
            started = at + timedelta(hours=s * 20)
            session = new_session(new_id(), profile["id"], "web", iso(started))
            sessions.append(session)
            for e in range(5):
                item = event(
                    profile,
                    session,
                    started + timedelta(minutes=e * 11),
                    kind=("page-view", "purchase", "identify")[e % 3],
                    source=("web", "app")[(n + e) % 2],
                    channel=("web", "mobile")[e % 2],
                    tags=[["a"], ["b", "a"], []][(n + e) % 3],
                )
                if e == 4:
                    item["metadata"]["status"] = "processed"
                if e == 3 and n % 2:
                    item["metadata"]["channel"] = None
                events.append(item)
        # a hit in the person's session without a profile
        loose = event(None, sessions[-1], at + timedelta(seconds=1))
        events.append(loose)
    # many events at one instant: only the tie-break orders them
    same = new_session(new_id(), profiles[0]["id"], "web", iso(T0))
    sessions.append(same)
    events.extend(event(profiles[0], same, T0 + timedelta(days=3)) for _ in range(9))
    return profiles, sessions, events


async def _all_pages(
    fetch: Callable[[str | None, int], Awaitable[Page[Doc]]], limit: int
) -> list[list[Doc]]:
    pages: list[list[Doc]] = []
    cursor: str | None = None
    while True:
        page = await fetch(cursor, limit)
        pages.append(page.items)
        cursor = page.next
        if cursor is None:
            return pages


async def test_both_engines_give_the_same_answers(
    storage: PostgresStorage, sqlite: SQLiteStorage
) -> None:
    profiles, sessions, events = _dataset()
    for store in (sqlite, storage):
        await _seed(store, profiles, sessions, events)

    async def same(call: Callable[[Any], Awaitable[Any]]) -> Any:
        expected = await call(sqlite)
        assert await call(storage) == expected
        return expected

    event_filters = [
        EventFilter(),
        EventFilter(profile=profiles[2]["id"]),
        EventFilter(session=sessions[3]["id"]),
        EventFilter(type="purchase"),
        EventFilter(source="app", status="processed"),
        EventFilter(tag="a"),
        EventFilter(tag="b", type="page-view"),
        EventFilter(
            status="collected", from_=T0 + timedelta(minutes=20), to=T0 + timedelta(hours=21)
        ),
        EventFilter(tag="nope"),
    ]
    for where in event_filters:
        for limit in (1, 4, 50):
            pages = await same(
                lambda s, w=where, n=limit: _all_pages(lambda c, k: s.data.list_events(w, c, k), n)
            )
            ids = [e["id"] for page in pages for e in page]
            assert len(ids) == len(set(ids))

    queries = [
        ProfileQuery(),
        ProfileQuery(q="alice"),
        ProfileQuery(q="ALICE"),
        ProfileQuery(q="0.alice@example.com"),  # an exact identity
        ProfileQuery(q="example"),
        ProfileQuery(q="gold"),
        ProfileQuery(q="42"),
        ProfileQuery(q="1.5"),
        ProfileQuery(q="deep"),
        ProfileQuery(q="bobson"),
        ProfileQuery(q="o'hara"),
        ProfileQuery(q="100%"),
        ProfileQuery(q="%"),
        ProfileQuery(q="_"),
        ProfileQuery(q="4412345"),
        ProfileQuery(q="+44 1234 500001"),  # phone-like: exact E.164 spelling only if stored
        ProfileQuery(q=profiles[5]["id"]),
        ProfileQuery(q=profiles[5]["id"][-5:]),
        ProfileQuery(q="metadata"),
        ProfileQuery(q="tier"),  # a key, never searched
        ProfileQuery(segment="vip"),
        ProfileQuery(segment="b2b", q="élodie"),
        ProfileQuery(q="ÉLODIE"),
        ProfileQuery(q="LODIE"),
        ProfileQuery(updated_from=T0 + timedelta(minutes=30)),
        ProfileQuery(updated_to=T0 + timedelta(minutes=30)),
        ProfileQuery(visited_from=T0 + timedelta(minutes=30), visited_to=T0 + timedelta(hours=1)),
        ProfileQuery(q="example", updated_from=T0 + timedelta(minutes=10)),
    ]
    found: dict[str | None, int] = {}
    for query in queries:
        for limit in (1, 3, 100):
            pages = await same(
                lambda s, q=query, n=limit: _all_pages(
                    lambda c, k: s.data.search_profiles(q, c, k), n
                )
            )
            found[query.q] = sum(len(page) for page in pages)
    # the data set does exercise each kind of match (and of miss)
    assert found["0.alice@example.com"] == found["+44 1234 500001"] == 1
    assert found["gold"] == found["deep"] == found["1.5"] == found["bobson"] == 3
    assert found["ÉLODIE"] == found["LODIE"] == 3 and found["élodie"] == 0
    assert found["%"] == found["_"] == found["o'hara"] == 3
    assert found["metadata"] == found["tier"] == 0

    session_filters = [
        SessionFilter(),
        SessionFilter(profile=profiles[4]["id"]),
        SessionFilter(from_=T0 + timedelta(minutes=15), to=T0 + timedelta(days=1)),
    ]
    for where in session_filters:
        for limit in (1, 5):
            await same(
                lambda s, w=where, n=limit: _all_pages(
                    lambda c, k: s.data.list_sessions(w, c, k), n
                )
            )

    for interval, span in (("minute", timedelta(minutes=45)), ("hour", timedelta(days=2))):
        for by in (None, "type", "source", "channel"):
            start = T0 + timedelta(minutes=3, seconds=17)
            await same(
                lambda s, i=interval, b=by, f=start, t=start + span: s.data.event_stats(i, f, t, b)
            )
    await same(lambda s: s.data.event_stats("day", T0 + timedelta(days=9), T0, "type"))

    ranges = [(None, None), (T0 + timedelta(minutes=20), T0 + timedelta(hours=30))]
    for table in ("profiles", "sessions", "events"):
        for from_, to in ranges:
            await same(lambda s, t=table, f=from_, u=to: s.erasure.count_rows(t, f, u))
            await same(
                lambda s, t=table, f=from_, u=to: _all_pages(
                    lambda c, k: s.erasure.export_page(t, f, u, c, k), 7
                )
            )

    for profile in profiles[:3]:
        erased = await same(lambda s, p=profile["id"]: s.erasure.erase_profile(p))
        assert erased is not None and erased.events > 0
    await same(lambda s: s.erasure.erase_profile(profiles[0]["id"]))
    await same(lambda s: _all_pages(lambda c, k: s.data.list_events(EventFilter(), c, k), 25))
    for table in ("profiles", "sessions", "events"):
        await same(lambda s, t=table: s.erasure.count_rows(t, None, None))


# what only PostgreSQL has ----------------------------------------------------------
async def test_paging_across_monthly_partitions(storage: PostgresStorage) -> None:
    """Rows in several partitions (and the default one) page as one newest-first list."""
    now = datetime.now(UTC).replace(day=1, hour=12, minute=0, second=0, microsecond=0)
    moments = [
        now - timedelta(days=400),  # long before the partitions: the default partition
        now,
        now + timedelta(days=35),
        now + timedelta(days=70),
        now + timedelta(days=800),  # far ahead: the default partition again
    ]
    profile: Doc | None = None
    expected: list[str] = []
    for at in moments:
        profile, _, stored = await visit(storage, at, 4, profile=profile)
        expected.extend(e["id"] for e in stored)
    async with storage.pool.acquire() as conn:
        placed = await conn.fetch(
            "SELECT tableoid::regclass::text AS part, count(*) FROM events GROUP BY 1"
        )
    assert len(placed) >= 4, placed
    items = await walk(lambda c, n: storage.data.list_events(EventFilter(), c, n), 3)
    assert [e["id"] for e in items] == list(reversed(expected))
    window = EventFilter(from_=now, to=now + timedelta(days=60))
    inside = await walk(lambda c, n: storage.data.list_events(window, c, n), 3)
    assert [e["id"] for e in inside] == list(reversed(expected[4:12]))
    exported = await walk(lambda c, n: storage.erasure.export_page("events", None, None, c, n), 6)
    assert [e["id"] for e in exported] == expected
    stats = await storage.data.event_stats(
        "hour", now - timedelta(hours=1), now + timedelta(hours=1), None
    )
    assert [b["count"] for b in stats["buckets"]] == [0, 4]


async def test_cursors_are_plain_json_values(storage: PostgresStorage) -> None:
    """The (key, tie-break) of every list is ints and strings, which round-trip through
    the opaque cursor exactly, and the next page starts right after them."""
    for n in range(3):
        await visit(storage, T0 + timedelta(minutes=n), 2)
    pool = storage.pool
    calls: list[Callable[[list[Any] | None], Awaitable[list[data_queries.Row]]]] = [
        lambda after: data_queries.list_events(pool, EventFilter(), after, 2),
        lambda after: data_queries.list_profiles(pool, ProfileQuery(), after, 2),
        lambda after: data_queries.list_sessions(pool, SessionFilter(), after, 2),
        lambda after: data_queries.export_rows(pool, "events", None, None, after, 2),
        lambda after: data_queries.export_rows(pool, "sessions", None, None, after, 2),
        lambda after: data_queries.export_rows(pool, "profiles", None, None, after, 2),
    ]
    for call in calls:
        first = await call(None)
        assert len(first) == 2
        key, tiebreak, doc = first[0]
        assert type(key) is int and type(tiebreak) in (int, str)
        assert isinstance(doc, dict) and doc["id"]
        after = decode_cursor(encode_cursor(key, tiebreak), 2)
        assert after == [key, tiebreak]
        following = await call(after)
        assert following[0][2]["id"] == first[1][2]["id"]


FORGED = [["x", 1], [1, "x"], [True, 1], [1, False], [2**63, 1], [None, None], [1.5, 2], [[1], {}]]


@pytest.mark.parametrize("forged", FORGED)
async def test_a_forged_cursor_is_a_bad_request(
    storage: PostgresStorage, forged: list[Any]
) -> None:
    """A cursor of the wrong types is refused like any other bad cursor (422), not
    passed on to PostgreSQL to fail there as a server error."""
    await visit(storage, T0, 2)
    cursor = encode_cursor(*forged)
    key, tiebreak = forged
    good_key = type(key) is int and abs(key) < 2**63
    calls = {
        "events": (type(tiebreak) is int, storage.data.list_events(EventFilter(), cursor, 1)),
        "export events": (
            type(tiebreak) is int,
            storage.erasure.export_page("events", None, None, cursor, 1),
        ),
        "profiles": (
            type(tiebreak) is str,
            storage.data.search_profiles(ProfileQuery(), cursor, 1),
        ),
        "sessions": (type(tiebreak) is str, storage.data.list_sessions(SessionFilter(), cursor, 1)),
        "export profiles": (
            type(tiebreak) is str,
            storage.erasure.export_page("profiles", None, None, cursor, 1),
        ),
    }
    for good_tiebreak, call in calls.values():
        if good_key and good_tiebreak:
            await call
            continue
        with pytest.raises(InvalidPayload):
            await call


async def test_stats_leave_events_without_a_channel_out_of_channel_groups(
    storage: PostgresStorage,
) -> None:
    profile = new_profile(new_id(), iso(T0))
    session = new_session(new_id(), profile["id"], "web", iso(T0))
    stored = [event(profile, session, T0 + timedelta(minutes=n)) for n in range(4)]
    stored[0]["metadata"]["channel"] = None
    await storage.tracking.commit_visit(VisitUnit(profile=profile, session=session, events=stored))
    day = (T0, T0 + timedelta(days=1))
    total = await storage.data.event_stats("day", *day, None)
    assert total["buckets"] == [{"time": "2026-03-01T00:00:00.000000Z", "count": 4}]
    by_channel = await storage.data.event_stats("day", *day, "channel")
    assert by_channel["buckets"][0] == {
        "time": "2026-03-01T00:00:00.000000Z",
        "count": 3,
        "groups": {"web": 3},
    }
    assert by_channel["from"] == iso(T0) and by_channel["by"] == "channel"
    empty = await storage.data.event_stats("hour", day[1], day[0], "type")
    assert empty["buckets"] == []


async def test_search_input_is_matched_literally(storage: PostgresStorage) -> None:
    odd = new_profile(new_id(), iso(T0))
    odd["traits"] = {"code": "50%_off\\now", "quote": 'it\'s "fine"'}
    plain = new_profile(new_id(), iso(T0))
    plain["traits"] = {"code": "50 percent off"}
    for profile in (odd, plain):
        await visit(storage, T0, 0, profile=profile)

    async def ids(q: str) -> set[str]:
        page = await storage.data.search_profiles(ProfileQuery(q=q), None, 100)
        return {p["id"] for p in page.items}

    assert await ids("50%") == {odd["id"]}
    assert await ids("%_off") == {odd["id"]}
    assert await ids("\\now") == {odd["id"]}
    assert await ids('"FINE"') == {odd["id"]}
    assert await ids("' OR '1'='1") == set()
    assert await ids("50") == {odd["id"], plain["id"]}
    assert await ids("{}") == set()  # the text form of an empty object is no leaf


async def test_erase_after_a_merge_leaves_no_row_under_any_of_the_ids(
    storage: PostgresStorage,
) -> None:
    keep, _, _ = await visit(storage, T0, 2)
    gone, gone_session, _ = await visit(storage, T0 + timedelta(minutes=5), 3)
    # `gone` merges into `keep`: its sessions and events move, its id now resolves to keep
    keep["ids"].append(gone["id"])
    await storage.tracking.commit_visit(VisitUnit(profile=keep, merged=[gone["id"]]))
    assert await storage.tracking.resolve_profile_id(gone["id"]) == keep["id"]
    # a stray row still filed under the merged id is erased with the person too
    stray = event(gone, gone_session, T0 + timedelta(minutes=9))
    await storage.tracking.commit_visit(VisitUnit(events=[stray]))
    other, _, _ = await visit(storage, T0, 1)

    erased = await storage.erasure.erase_profile(keep["id"])
    assert erased is not None
    assert (erased.profiles, erased.ids, erased.sessions, erased.events, erased.identities) == (
        1,
        2,
        2,
        6,
        2,
    )
    owners = [keep["id"], gone["id"]]
    async with storage.pool.acquire() as conn:
        for sql in (
            "SELECT count(*) FROM profiles WHERE id = ANY($1::text[])",
            "SELECT count(*) FROM identities WHERE profile_id = ANY($1::text[])"
            " OR value = ANY($1::text[])",
            "SELECT count(*) FROM sessions WHERE profile_id = ANY($1::text[])",
            "SELECT count(*) FROM events WHERE profile_id = ANY($1::text[])"
            " OR doc -> 'profile' ->> 'id' = ANY($1::text[])",
        ):
            assert await conn.fetchval(sql, owners) == 0, sql
    assert await storage.erasure.count_rows("events", None, None) == 1
    assert (await storage.data.list_events(EventFilter(), None, 10)).items[0]["profile"] == {
        "id": other["id"]
    }
