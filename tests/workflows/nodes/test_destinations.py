"""send-to-destination: a flow queues a delivery in the real queue of a real store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx2 as httpx
import orjson
import pytest

from kith.config import Settings
from kith.config_documents import ConfigDocuments
from kith.destinations.queueing import DESTINATION_KIND, DestinationCatalog, DestinationQueue
from kith.destinations.registry import KindRegistry
from kith.destinations.routing import DestinationDefaults
from kith.storage import open_storage
from kith.storage.ports import Storage
from kith.workflows.services import NodeServices
from tests.workflows.nodes.flows import new_profile_doc, node, output, run_flow

ORDER = {"id": "e1", "type": "order-completed", "properties": {"total": 150}}


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[Storage]:
    store = open_storage(Settings(data_dir=tmp_path / "data"))
    await store.start()
    yield store
    await store.close()


async def services_for(storage: Storage, client: httpx.AsyncClient) -> NodeServices:
    documents = ConfigDocuments(storage, DESTINATION_KIND, 0)
    for destination_id, enabled in (("crm", True), ("off", False)):
        await documents.put(
            destination_id,
            {
                "kind": "webhook",
                "enabled": enabled,
                "mapping": {"total": "event@properties.total", "who": "profile@id"},
                "config": {"url": "http://127.0.0.1:9/hook"},
            },
        )
    catalog = DestinationCatalog(documents, KindRegistry.installed(), DestinationDefaults())
    queue = DestinationQueue(storage, catalog, lambda: None)
    return NodeServices(storage=storage, http=client, destinations=queue)


async def test_send_to_destination_queues_the_mapped_delivery(storage: Storage) -> None:
    async with httpx.AsyncClient() as client:
        services = await services_for(storage, client)
        config = {"destination": "crm"}
        run = await run_flow(
            [node("send", "send-to-destination", config)],
            event=ORDER,
            profile=new_profile_doc(),
            services=services,
        )
    assert run.errors == []
    assert output(run, "send") == ("out", ORDER)  # the payload passes on
    (queued,) = await storage.deliveries.claim("crm", "test", 10, 30)
    assert (queued.event_id, queued.profile_id) == ("e1", "p1")
    assert orjson.loads(queued.body or "") == {"total": 150, "who": "p1"}


@pytest.mark.parametrize("destination", ["nowhere", "off"])
async def test_an_unknown_or_disabled_destination_fails_the_node(
    storage: Storage, destination: str
) -> None:
    async with httpx.AsyncClient() as client:
        services = await services_for(storage, client)
        run = await run_flow(
            [node("send", "send-to-destination", {"destination": destination})],
            event=ORDER,
            services=services,
        )
    assert len(run.errors) == 1 and destination in orjson.dumps(run.errors).decode()
    assert (await storage.deliveries.stats(destination)).pending == 0
