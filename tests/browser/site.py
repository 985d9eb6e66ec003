"""The website under test: pages on another origin than Kith, served by a thread.

Kith runs at `http://127.0.0.1:<port>`; these pages are at
`http://localhost:<port>`, another host and so another site, as a real shop's
pages are to its CDP. Tests publish pages by path; `/fake-api/track` answers
with a canned tracker answer and keeps what it received, for tests of what
the tracker sends and how it renders an answer."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

LOADER = Path(__file__).resolve().parents[2] / "kith" / "tracker" / "loader.min.js"


@dataclass
class Site:
    pages: dict[str, str] = field(default_factory=dict)
    answer: dict[str, Any] = field(default_factory=dict)
    received: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0
    server: ThreadingHTTPServer | None = None

    @property
    def origin(self) -> str:
        return f"http://localhost:{self.port}"

    def publish(self, path: str, html: str) -> str:
        self.pages[path] = html
        return self.origin + path

    def start(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            html = site.pages.get(self.path.split("?")[0])
            if html is None:
                self._send(404, b"not found", "text/plain")
            else:
                self._send(200, html.encode(), "text/html; charset=utf-8")

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path != "/fake-api/track":
                self._send(404, b"not found", "text/plain")
                return
            site.received.append(json.loads(body))
            self._send(200, json.dumps(site.answer).encode(), "application/json")

    return Handler


def snippet(options: str, *, loader_first: bool = False) -> str:
    """Tracardi's documented snippet: `const options = {...}` and the loader inline.

    Tracardi's docs show both orders (the loader after the options and, in
    later versions, the loader first); Kith's loader works with either."""
    loader = LOADER.read_text(encoding="utf-8")
    declare = f"const options = {options};"
    parts = [loader, declare] if loader_first else [declare, loader]
    return "<script>\n" + "\n".join(parts) + "\n</script>"


def tracker_options(
    kith: str, source: str, *, api: str | None = None, extra: str = "", page_view: bool = True
) -> str:
    """The snippet's options pointed at Kith, with the automatic page-view unless told."""
    auto = "auto: {events: [['page-view', {}]]}, " if page_view else ""
    return (
        "{tracker: {"
        f"url: {{script: '{kith}/tracker', api: '{api or kith}'}}, "
        f"{auto}{extra}"
        f"source: {{id: '{source}'}}"
        "}}"
    )


def page(title: str, head: str, body: str = "") -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>{head}</head>"
        f"<body><h1>{title}</h1>{body}</body></html>"
    )
