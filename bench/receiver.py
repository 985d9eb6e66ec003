"""A fast webhook receiver for the destination benchmarks, run as its own process.

`python -m bench.receiver --port P`: answers every `POST /hook` at once with 200,
never answers `POST /hang` (a receiver that lets every attempt time out), and
reports its counts at `GET /count` (`{"hook": n, "hang": n}`). A bare asyncio
protocol on uvloop, so it costs the benchmark far less than the sender it measures."""

from __future__ import annotations

import argparse
import asyncio

import orjson
import uvloop

OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: application/json\r\n\r\n{}"


class Counts:
    def __init__(self) -> None:
        self.hook = 0
        self.hang = 0


class Receiver(asyncio.Protocol):
    def __init__(self, counts: Counts) -> None:
        self.counts = counts
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's own class

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.answer(head.split(b"\r\n", 1)[0])

    def answer(self, request_line: bytes) -> None:
        assert self.transport is not None
        if b" /hang" in request_line:
            self.counts.hang += 1
            return
        if request_line.startswith(b"GET /count"):
            body = orjson.dumps({"hook": self.counts.hook, "hang": self.counts.hang})
            head = f"HTTP/1.1 200 OK\r\ncontent-length: {len(body)}\r\n\r\n".encode()
            self.transport.write(head + body)
            return
        self.counts.hook += 1
        self.transport.write(OK)


async def serve(port: int) -> None:
    counts = Counts()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Receiver(counts), "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    uvloop.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
