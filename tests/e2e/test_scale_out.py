"""Many processes, one truth: two `kith serve` processes over one PostgreSQL.

Traffic for one visitor or one person is spread over both processes at the same
moment; the advisory locks must make the result exactly what one process gives."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from tests.e2e.conftest import Server
from tests.e2e.test_identity import chain_storm
from tests.postgres import drop_schema, fresh_schema_url

Json = dict[str, Any]


@pytest.fixture
def pair(tmp_path: Path, postgres_database: str) -> Iterator[tuple[Server, Server]]:
    url, schema = fresh_schema_url(postgres_database)
    env = {
        "KITH_STORAGE_URL": url,
        "KITH_PG_LOCK_CONNECTIONS": "16",
        "KITH_PG_POOL_SIZE": "4",
        # long cache lifetimes: a change can only arrive in time through NOTIFY
        "KITH_SOURCE_CACHE_TTL": "600",
        "KITH_CONFIG_CACHE_TTL": "600",
    }
    first = Server(tmp_path / "one", env=env)
    second = Server(tmp_path / "two", env=env)
    first.start()
    second.start()
    yield first, second
    for server in (first, second):
        if server.process is not None:
            server.stop()
    drop_schema(postgres_database, schema)


def body(session: str, events: list[Json], profile: str | None = None) -> Json:
    payload: Json = {"source": {"id": "web-shop"}, "session": {"id": session}, "events": events}
    if profile:
        payload["profile"] = {"id": profile}
    return payload


async def spread(servers: tuple[Server, Server], payloads: list[Json]) -> list[Json]:
    """Send all payloads at once, alternating between the two processes."""
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=200)) as client:
        targets = itertools.cycle(servers)
        responses = await asyncio.gather(
            *(client.post(f"{next(targets).url}/track", json=p) for p in payloads)
        )
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    return [r.json() for r in responses]


def profile_of(server: Server, profile_id: str) -> Json:
    response = httpx.get(f"{server.url}/api/profiles/{profile_id}", headers=server.admin)
    assert response.status_code == 200, response.text
    found: Json = response.json()
    return found


def create_source_through(first: Server, second: Server) -> None:
    response = httpx.post(
        f"{first.url}/api/sources",
        json={"id": "web-shop", "bridges": ["rest"]},
        headers=first.admin,
    )
    assert response.status_code == 201, response.text
    # the other process learns of it through NOTIFY, well within a second
    deadline = time.monotonic() + 1.0
    while True:
        answer = httpx.post(f"{second.url}/track", json=body(str(uuid.uuid4()), []))
        if answer.status_code == 200:
            return
        assert time.monotonic() < deadline, "the source did not reach the second process"
        time.sleep(0.05)


def test_healthz_reports_postgresql(pair: tuple[Server, Server]) -> None:
    for server in pair:
        assert httpx.get(f"{server.url}/healthz").json()["storage"] == "postgresql"


def test_first_hits_of_one_session_over_both_processes_give_one_profile(
    pair: tuple[Server, Server],
) -> None:
    create_source_through(*pair)
    session = str(uuid.uuid4())
    answers = asyncio.run(spread(pair, [body(session, [{"type": "page-view"}])] * 40))
    profiles = {a["profile"]["id"] for a in answers}
    assert len(profiles) == 1
    profile = profile_of(pair[0], profiles.pop())
    assert profile["stats"]["visits"] == 1
    assert profile["stats"]["views"] == 40


def test_concurrent_visits_of_one_profile_count_exactly(pair: tuple[Server, Server]) -> None:
    create_source_through(*pair)
    first = asyncio.run(spread(pair, [body(str(uuid.uuid4()), [{"type": "page-view"}])]))[0]
    profile_id = first["profile"]["id"]
    visits = [body(str(uuid.uuid4()), [{"type": "page-view"}], profile_id) for _ in range(60)]
    answers = asyncio.run(spread(pair, visits))
    assert {a["profile"]["id"] for a in answers} == {profile_id}
    profile = profile_of(pair[1], profile_id)
    assert profile["stats"]["visits"] == 61
    assert profile["metadata"]["time"]["visit"]["count"] == 61
    assert profile["stats"]["views"] == 61


def test_devices_identifying_through_different_processes_give_one_profile(
    pair: tuple[Server, Server],
) -> None:
    create_source_through(*pair)
    devices = [str(uuid.uuid4()) for _ in range(8)]
    asyncio.run(spread(pair, [body(d, [{"type": "page-view"}]) for d in devices]))
    email = f"{uuid.uuid4()}@example.com"
    identify = [{"type": "identify", "properties": {"email": email}}]
    answers = asyncio.run(spread(pair, [body(d, identify) for d in devices]))
    survivors = {profile_of(pair[0], a["profile"]["id"])["id"] for a in answers}
    assert len(survivors) == 1
    profile = profile_of(pair[1], survivors.pop())
    assert profile["stats"]["visits"] == len(devices)
    assert len(profile["ids"]) == len(devices)


def test_configuration_reaches_the_other_process_within_a_second(
    pair: tuple[Server, Server],
) -> None:
    first, second = pair
    create_source_through(first, second)
    mapping = {"mapping": [{"from": "event@properties.plan", "to": "profile@traits.plan"}]}
    response = httpx.put(
        f"{first.url}/api/event-types/plan-chosen", json=mapping, headers=first.admin
    )
    assert response.status_code == 200, response.text
    event = [{"type": "plan-chosen", "properties": {"plan": "pro"}}]
    deadline = time.monotonic() + 1.0
    while True:
        answer = httpx.post(f"{second.url}/track", json=body(str(uuid.uuid4()), event)).json()
        if profile_of(second, answer["profile"]["id"])["traits"].get("plan") == "pro":
            return
        assert time.monotonic() < deadline, "the event type did not reach the other process"
        time.sleep(0.05)


def test_serve_with_two_workers(tmp_path: Path, postgres_database: str) -> None:
    url, schema = fresh_schema_url(postgres_database)
    server = Server(tmp_path / "w", env={"KITH_STORAGE_URL": url, "KITH_WORKERS": "2"})
    server.start()
    try:
        create_source_through(server, server)
        session = str(uuid.uuid4())
        answers = asyncio.run(
            spread((server, server), [body(session, [{"type": "page-view"}])] * 30)
        )
        assert len({a["profile"]["id"] for a in answers}) == 1
        assert httpx.get(f"{server.url}/healthz").json()["storage"] == "postgresql"
    finally:
        server.stop()
        drop_schema(postgres_database, schema)


def test_chains_of_keys_merged_through_both_processes_give_one_profile(
    pair: tuple[Server, Server],
) -> None:
    create_source_through(*pair)
    for _ in range(5):
        chain_storm(pair[0], lambda payloads: asyncio.run(spread(pair, payloads)))


def test_storms_of_many_people_through_both_processes_give_one_profile_each(
    pair: tuple[Server, Server],
) -> None:
    """Four people with twelve devices each (more than the old lifetime cap of ten ids),
    their keys chained, all identifying at once over both processes."""
    create_source_through(*pair)
    for _ in range(3):
        chain_storm(
            pair[1], lambda payloads: asyncio.run(spread(pair, payloads)), people=4, per_key=4
        )


def test_a_back_office_merge_and_collector_merges_over_both_processes(
    pair: tuple[Server, Server],
) -> None:
    """A back-office merge on one process while the collector merges the same people on
    both: the same advisory locks, so one profile and no deadlock."""
    first, second = pair
    create_source_through(first, second)
    emails = [f"{uuid.uuid4().hex}@example.com" for _ in range(4)]
    people = [
        asyncio.run(spread(pair, [body(str(uuid.uuid4()), [identify(e)])]))[0]["profile"]["id"]
        for e in emails
    ]
    devices = [str(uuid.uuid4()) for _ in range(8)]
    storm = [body(d, [identify(emails[n % 4])]) for n, d in enumerate(devices)]
    storm += [body(devices[0], [identify(emails[1])]), body(devices[2], [identify(emails[3])])]

    async def together() -> list[int]:
        async with httpx.AsyncClient(timeout=60) as client:
            merge = client.post(
                f"{second.url}/api/profiles/{people[0]}/merge",
                json={"ids": [people[2]]},
                headers=second.admin,
            )
            answers = await asyncio.gather(merge, spread(pair, storm))
        return [answers[0].status_code]

    assert asyncio.run(together()) == [200]
    survivors = {profile_of(first, p)["id"] for p in people}
    assert len(survivors) == 1
    assert len(profile_of(second, survivors.pop())["ids"]) == 4 + len(devices)


def identify(email: str) -> Json:
    return {"type": "identify", "properties": {"email": email}}
