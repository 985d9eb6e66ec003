"""Outbound HTTP of the destination kinds against real sockets: keep-alive reuse, a
peer that drops idle connections, timeouts, refused connections, Retry-After."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from kith.destinations.kinds._http import HttpTarget

Reply = Callable[[int], bytes | None]
Start = Callable[["Server"], Awaitable[int]]


class Peer(asyncio.Protocol):
    """Answers each request with `reply(n)` (None: never answers); closes the
    connection after answering when `close_after` says so, without telling."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.server.connections += 1
        self.server.transports.append(transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, _, rest = self.buffer.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(rest) < length:
                return
            self.buffer = rest[length:]
            count = self.server.requests
            self.server.requests += 1
            answer = self.server.reply(count)
            if answer is None:
                return
            self.transport.write(answer)  # type: ignore[attr-defined]
            if self.server.close_after:
                self.transport.close()


class Server:
    def __init__(self, reply: Reply, *, close_after: bool = False) -> None:
        self.reply = reply
        self.close_after = close_after
        self.requests = 0
        self.connections = 0
        self.port = 0
        self.transports: list[asyncio.BaseTransport] = []


def ok(count: int) -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"


@pytest.fixture
async def serve() -> AsyncIterator[Start]:
    servers: list[tuple[asyncio.Server, Server]] = []

    async def start(server: Server) -> int:
        loop = asyncio.get_running_loop()
        listening = await loop.create_server(lambda: Peer(server), "127.0.0.1", 0)
        servers.append((listening, server))
        server.port = listening.sockets[0].getsockname()[1]
        return server.port

    yield start
    for listening, server in servers:
        listening.close()
        for transport in server.transports:  # a server's close leaves its connections open
            transport.close()
        await listening.wait_closed()
    await asyncio.sleep(0)  # the transports finish closing


async def test_connections_are_kept_alive_and_reused(serve: Start) -> None:
    server = Server(ok)
    port = await serve(server)
    target = HttpTarget(f"http://127.0.0.1:{port}/x", "POST", {}, concurrency=2, timeout=2)
    try:
        for _ in range(20):
            attempt = await target.send(b"{}")
            assert attempt.delivered and attempt.status == 200 and attempt.answer == "ok"
    finally:
        await target.close()
    assert (server.requests, server.connections) == (20, 1)


async def test_a_peer_that_drops_idle_connections_costs_no_failed_attempt(
    serve: Start,
) -> None:
    server = Server(ok, close_after=True)
    port = await serve(server)
    target = HttpTarget(f"http://127.0.0.1:{port}/x", "POST", {}, concurrency=1, timeout=2)
    try:
        for _ in range(5):
            attempt = await target.send(b"{}")
            await asyncio.sleep(0.01)  # the close reaches us before the next send
            assert attempt.delivered, attempt.error
    finally:
        await target.close()
    assert server.connections == 5


async def test_a_peer_that_never_answers_times_out_and_is_retried(
    serve: Start,
) -> None:
    port = await serve(Server(lambda count: None))
    target = HttpTarget(f"http://127.0.0.1:{port}/x", "POST", {}, concurrency=1, timeout=0.3)
    try:
        attempt = await asyncio.wait_for(target.send(b"{}"), 5)
    finally:
        await target.close()
    assert not attempt.delivered and attempt.retry
    assert attempt.error is not None and "Timeout" in attempt.error


async def test_a_refused_connection_is_retried() -> None:
    target = HttpTarget("http://127.0.0.1:9/x", "POST", {}, concurrency=1, timeout=2)
    try:
        attempt = await target.send(b"{}")
    finally:
        await target.close()
    assert not attempt.delivered and attempt.retry and attempt.status is None


async def test_status_classes_and_retry_after(serve: Start) -> None:
    answers = [
        b"HTTP/1.1 503 Busy\r\nretry-after: 7\r\ncontent-length: 4\r\n\r\nbusy",
        b"HTTP/1.1 404 Not Found\r\ncontent-length: 4\r\n\r\nnope",
        b"HTTP/1.1 429 Slow down\r\ncontent-length: 0\r\n\r\n",
    ]
    port = await serve(Server(lambda count: answers[count]))
    target = HttpTarget(f"http://127.0.0.1:{port}/x", "POST", {}, concurrency=1, timeout=2)
    try:
        busy, missing, slow = [await target.send(b"{}") for _ in answers]
    finally:
        await target.close()
    assert (busy.status, busy.retry, busy.retry_after) == (503, True, 7.0)
    assert (missing.status, missing.retry, missing.answer) == (404, False, "nope")
    assert (slow.status, slow.retry) == (429, True)
