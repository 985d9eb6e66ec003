"""Real receivers for destination tests: an HTTP server whose answers a test scripts.

It runs in threads of its own (the app under test runs in TestClient's thread or
in another process), records every request, and answers with the status the
test's `answer` function returns for it; `hang` holds requests open until the
receiver stops, as a dead endpoint does."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HANG = -1


@dataclass(slots=True, frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    answer: Callable[[Received, int], int] = lambda request, count: 200
    """(request, how many came before it) -> status to answer, or HANG."""
    delay: float = 0.0
    """Seconds to wait before answering each request."""
    retry_after: str | None = None
    requests: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopped: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Received(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    time.monotonic(),
                )
                with receiver._lock:
                    count = len(receiver.requests)
                    receiver.requests.append(request)
                status = receiver.answer(request, count)
                if status == HANG:
                    receiver._stopped.wait()
                    self.close_connection = True  # and never answer
                    return
                if receiver.delay:
                    time.sleep(receiver.delay)
                reply = b'{"ok": true}' if status < 300 else b'{"error": "scripted"}'
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(reply)))
                if receiver.retry_after is not None and status >= 400:
                    self.send_header("retry-after", receiver.retry_after)
                self.end_headers()
                self.wfile.write(reply)

            do_POST = do_PUT = do_PATCH = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def ids(self) -> list[str]:
        with self._lock:
            return [r.headers.get("webhook-id", "") for r in self.requests]

    def wait_for(self, predicate: Callable[[Receiver], bool], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() > deadline:
                raise AssertionError(f"receiver: condition not met in {timeout} s")
            time.sleep(0.02)


@contextmanager
def running(receiver: Receiver) -> Iterator[Receiver]:
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()
