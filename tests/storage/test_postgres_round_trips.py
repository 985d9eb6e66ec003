"""Round trips to PostgreSQL on the collector's hot path, counted on the wire.

The app talks to PostgreSQL through a TCP relay that counts *turns*: every time
a connection's client speaks after the server did (or first), that is one round
trip, however many messages or packets it holds. That counts everything the
request costs, pool resets, BEGIN and COMMIT included, whatever the driver does.

Background work is off and the caches' lifetimes are long, so only the request
itself is measured: a cache reload (once a second per process) is not part of
every request. Each count is taken on a warm process (the second request of its
kind), once the driver has prepared its statements."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from fastapi.testclient import TestClient

from kith.app import build_app
from kith.config import Settings
from kith.storage.postgres.core import connect
from tests.conftest import ADMIN_KEY, FIXTURES
from tests.postgres import drop_schema, fresh_schema_url

NEW_VISITOR_MOST = 2


class TurnCountingRelay:
    """A TCP relay in a thread of its own, counting client turns on every connection."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self.turns = 0
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._writers: list[asyncio.StreamWriter] = []

    def __enter__(self) -> TurnCountingRelay:
        self._thread.start()
        assert self._ready.wait(5)
        return self

    def __exit__(self, *_: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(5)

    async def _serve(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()
            for writer in self._writers:
                writer.close()
            # wait for every transport to close here, not in a later test's garbage
            # collection (an unclosed transport is a ResourceWarning, an error there)
            await asyncio.gather(
                *(writer.wait_closed() for writer in self._writers), return_exceptions=True
            )

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(*self._target)
        self._writers += [client_w, server_w]
        last = ["server"]  # who spoke last on this connection

        async def pipe(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter, side: str
        ) -> None:
            try:
                while data := await reader.read(65536):
                    if side == "client" and last[0] != "client":
                        self.turns += 1
                    last[0] = side
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                writer.close()

        await asyncio.gather(pipe(client_r, server_w, "client"), pipe(server_r, client_w, "server"))


def _through(url: str, port: int) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) > 1 else host))


@pytest.fixture
def store_url(postgres_database: str) -> Iterator[str]:
    url, schema = fresh_schema_url(postgres_database)
    yield url
    drop_schema(postgres_database, schema)


@pytest.fixture
def relayed(tmp_path: Path, store_url: str) -> Iterator[tuple[TestClient, TurnCountingRelay]]:
    url = store_url
    parts = urlsplit(url)
    with TurnCountingRelay(parts.hostname or "127.0.0.1", parts.port or 5432) as relay:
        settings = Settings(
            data_dir=tmp_path / "data",
            storage_url=_through(url, relay.port),
            bootstrap_admin_key=ADMIN_KEY,
            background_work=False,
            config_cache_ttl=3600,
            source_cache_ttl=3600,
            pg_pool_size=4,
            pg_lock_connections=4,
        )
        with TestClient(build_app(settings)) as client:
            response = client.post(
                "/api/sources",
                json={"id": "web-shop", "name": "Web shop", "bridges": ["rest"]},
                headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            )
            assert response.status_code == 201, response.text
            yield client, relay


def new_visitor(session_id: str) -> dict[str, Any]:
    """The benchmark's first hit: the browser fixture's context, three events."""
    import orjson

    browser = orjson.loads((FIXTURES / "browser.json").read_bytes())
    return {
        "source": {"id": "web-shop"},
        "session": {"id": session_id},
        "context": browser.get("context", {}),
        "properties": {},
        "events": [
            {"type": "page-view", "properties": {}},
            {"type": "product-view", "properties": {"sku": "RUN-42", "price": 89.9}},
            {"type": "add-to-cart", "properties": {"sku": "RUN-42", "quantity": 1}},
        ],
    }


def counted(relay: TurnCountingRelay, send: Callable[[], Any]) -> int:
    before = relay.turns
    response = send()
    assert response.status_code == 200, response.text
    return relay.turns - before


def test_a_new_visitor_costs_at_most_two_round_trips(
    relayed: tuple[TestClient, TurnCountingRelay],
) -> None:
    client, relay = relayed
    counts = [
        counted(relay, lambda: client.post("/track", json=new_visitor(str(uuid.uuid4()))))
        for _ in range(3)
    ]
    print(f"new visitor round trips: {counts}")
    assert counts[-1] <= NEW_VISITOR_MOST, counts


def test_a_returning_visitor_round_trips_are_counted(
    relayed: tuple[TestClient, TurnCountingRelay],
) -> None:
    client, relay = relayed
    sessions = [str(uuid.uuid4()) for _ in range(3)]
    for session in sessions:
        client.post("/track", json=new_visitor(session))
    counts = [
        counted(relay, lambda session=session: client.post("/track", json=new_visitor(session)))
        for session in sessions
    ]
    print(f"returning visitor round trips: {counts}")
    assert counts[-1] > 0


def test_concurrent_first_hits_of_one_session_make_one_profile_and_nothing_else(
    relayed: tuple[TestClient, TurnCountingRelay], store_url: str
) -> None:
    """Every first hit goes without locks; all but one find the session taken at
    commit, store nothing, and go again under the lock: no second profile is left."""
    client, _ = relayed
    session = str(uuid.uuid4())
    with ThreadPoolExecutor(16) as threads:
        answers = list(
            threads.map(lambda _: client.post("/track", json=new_visitor(session)), range(16))
        )
    assert [a.status_code for a in answers] == [200] * 16
    assert len({a.json()["profile"]["id"] for a in answers}) == 1

    async def count() -> tuple[int, int, int]:
        conn = await connect(store_url)
        try:
            row = await conn.fetchrow(
                "SELECT (SELECT count(*) FROM profiles), (SELECT count(*) FROM sessions),"
                " (SELECT count(*) FROM events WHERE type = 'page-view')"
            )
            assert row is not None
            return int(row[0]), int(row[1]), int(row[2])
        finally:
            await conn.close()

    assert asyncio.run(count()) == (1, 1, 16)
