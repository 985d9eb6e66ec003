"""Real servers for tests of nodes that call out: an HTTP receiver (stdlib
`http.server` in a thread) and an SMTP server (aiosmtpd in a thread). Both record
what they receive; `wait_for` polls with a deadline instead of sleeping."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds} s for {what}")
        time.sleep(0.02)


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)
    """When it arrived (`time.monotonic()`)."""

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    body: bytes = b'{"ok": true}'
    content_type: str = "application/json"
    delay: float = 0.0


@dataclass
class HttpReceiver:
    """Records every request as it arrives, then answers it with `answer` (after
    `answer.delay` seconds)."""

    answer: Answer = field(default_factory=Answer)
    received: list[Received] = field(default_factory=list)
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def record(self, request: Received) -> None:
        with self._lock:
            self.received.append(request)

    def requests(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def wait_for(self, count: int, seconds: float = 10) -> list[Received]:
        wait_until(lambda: len(self.requests()) >= count, seconds, f"{count} requests")
        return self.requests()


def _handler(receiver: HttpReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            receiver.record(Received(self.command, self.path, headers, body))
            answer = receiver.answer
            if answer.delay:
                time.sleep(answer.delay)
            self.send_response(answer.status)
            self.send_header("content-type", answer.content_type)
            self.send_header("content-length", str(len(answer.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(answer.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # many calls at once (the default 5 drops connections)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (a killed server, a timed-out call) is no error here."""


@contextmanager
def http_receiver(answer: Answer | None = None) -> Iterator[HttpReceiver]:
    receiver = HttpReceiver(answer or Answer())
    server = _Server(("127.0.0.1", 0), _handler(receiver))
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class Mailbox:
    """What an SMTP server received: (envelope sender, recipients, parsed message)."""

    messages: list[tuple[str, list[str], Message]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    port: int = 0
    delay: float = 0.0
    """Seconds before the server accepts a message (a slow mail server)."""

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        content = envelope.original_content or b""
        self.messages.append(
            (str(envelope.mail_from), list(envelope.rcpt_tos), message_from_bytes(content))
        )
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, seconds: float = 10) -> list[tuple[str, list[str], Message]]:
        wait_until(lambda: len(self.messages) >= count, seconds, f"{count} e-mails")
        return list(self.messages)


@contextmanager
def smtp_server(login: tuple[str, str] | None = None, delay: float = 0.0) -> Iterator[Mailbox]:
    """A real SMTP server on a free port; with `login`, it offers AUTH over plain text
    (a test server only) and accepts only that user and password."""
    mailbox = Mailbox(port=free_port(), delay=delay)

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = (
            login is not None
            and isinstance(data, LoginPassword)
            and (data.login.decode(), data.password.decode()) == login
        )
        if isinstance(data, LoginPassword):
            mailbox.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)

    options: dict[str, Any] = {}
    if login is not None:
        options = {
            "authenticator": authenticate,
            "auth_require_tls": False,
        }
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port, **options)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()
