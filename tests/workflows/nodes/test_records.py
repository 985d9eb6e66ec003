"""load-profile and previous-event against real storage, on both engines."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from kith.config import Settings
from kith.domain.clock import iso, utcnow
from kith.domain.profile import new_profile
from kith.storage import open_storage
from kith.storage.ports import Storage, VisitUnit
from kith.workflows.graph import FlowInvalid
from kith.workflows.services import NodeServices
from tests.conftest import ENGINES
from tests.postgres import drop_schema, fresh_schema_url
from tests.workflows.nodes.flows import new_profile_doc, node, output, run_flow

NOW = utcnow()


@pytest.fixture(params=ENGINES)
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    if request.param == "sqlite":
        yield Settings(data_dir=tmp_path / "data")
        return
    database: str = request.getfixturevalue("postgres_database")
    url, schema = fresh_schema_url(database)
    yield Settings(data_dir=tmp_path / "data", storage_url=url, pg_pool_size=2)
    drop_schema(database, schema)


def event(event_id: str, event_type: str, minutes_ago: int, **properties: Any) -> dict[str, Any]:
    when = iso(NOW - timedelta(minutes=minutes_ago))
    return {
        "id": event_id,
        "type": event_type,
        "source": {"id": "web"},
        "session": None,
        "profile": {"id": "p1"},
        "properties": properties,
        "metadata": {"time": {"insert": when, "create": when}, "status": "collected",
                     "channel": "web"},
    }  # fmt: skip


@pytest.fixture
async def services(store_settings: Settings) -> AsyncIterator[NodeServices]:
    storage: Storage = open_storage(store_settings)
    await storage.start()
    profile = new_profile("p1", iso(NOW))
    profile["traits"] = {"tier": "gold"}
    profile["ids"] = ["p1", "old-id"]
    await storage.tracking.commit_visit(
        VisitUnit(
            profile=profile,
            events=[
                event("e-1", "page-view", 30, n=1),
                event("e-2", "order-completed", 20, total=99),
                event("e-3", "page-view", 10, n=3),
                event("e-later", "order-completed", -10, total=1),
            ],
            identities=[("id", "p1", "p1"), ("id", "old-id", "p1")],
        )
    )
    async with httpx.AsyncClient() as client:
        yield NodeServices(storage=storage, http=client)
    await storage.close()


CURRENT = event("e-now", "page-view", 0)


@pytest.mark.parametrize("wanted", ["p1", "old-id"])
async def test_load_profile_loads_by_any_id_into_the_payload(
    services: NodeServices, wanted: str
) -> None:
    run = await run_flow(
        [node("l", "load-profile", {"id": "event@properties.friend"})],
        event={**CURRENT, "properties": {"friend": wanted}},
        profile=new_profile_doc(id="p2"),
        services=services,
    )
    port, loaded = output(run, "l")
    assert port == "out" and loaded["id"] == "p1" and loaded["traits"] == {"tier": "gold"}


async def test_load_profile_into_memory_passes_the_payload_on(services: NodeServices) -> None:
    run = await run_flow(
        [node("l", "load-profile", {"id": "p{{event@properties.n}}", "into": "memory@friend"}),
         node("s", "set", {"set": {"profile@traits.friend_tier": "memory@friend.traits.tier"}})],
        event={**CURRENT, "properties": {"n": 1}},
        services=services,
    )  # fmt: skip
    assert output(run, "l")[1]["id"] == "e-now"
    assert run.profile is not None and run.profile["traits"]["friend_tier"] == "gold"


@pytest.mark.parametrize("wanted", ["nobody", "", None])
async def test_load_profile_goes_out_of_missing_when_there_is_none(
    services: NodeServices, wanted: Any
) -> None:
    run = await run_flow(
        [node("l", "load-profile", {"id": "event@properties.friend"})],
        event={**CURRENT, "properties": {"friend": wanted}},
        services=services,
    )
    assert output(run, "l")[0] == "missing"


async def test_load_profile_writes_only_to_the_payload_or_memory() -> None:
    with pytest.raises(FlowInvalid, match="memory@"):
        await run_flow([node("l", "load-profile", {"id": "x", "into": "profile@x"})])


async def test_previous_event_of_a_type_and_of_any_type(services: NodeServices) -> None:
    run = await run_flow(
        [node("o", "previous-event", {"event_type": "order-completed", "into": "memory@order"}),
         node("any", "previous-event", {})],
        event=CURRENT,
        profile=new_profile_doc(),
        services=services,
    )  # fmt: skip
    assert run.memory["order"]["id"] == "e-2" and run.memory["order"]["properties"] == {"total": 99}
    assert output(run, "any")[1]["id"] == "e-3"  # newest before this event, not e-later


async def test_previous_event_is_none_before_the_first_or_without_a_profile(
    services: NodeServices,
) -> None:
    first = await run_flow(
        [node("p", "previous-event", {"event_type": "page-view"})],
        event=event("e-1", "page-view", 30),
        services=services,
    )
    assert output(first, "p")[0] == "none"
    stranger = await run_flow(
        [node("p", "previous-event", {})],
        event=CURRENT,
        profile=new_profile_doc(id="p9"),
        services=services,
    )
    assert output(stranger, "p")[0] == "none"
    profileless = await run_flow(
        [node("p", "previous-event", {})], event=CURRENT, profileless=True, services=services
    )
    assert output(profileless, "p")[0] == "none"
