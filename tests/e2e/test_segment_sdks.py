"""Segment's and RudderStack's own SDKs, unmodified, against a real `kith serve`.

Each SDK (segment-analytics-python, rudder-sdk-python with gzip on, and
@segment/analytics-node run by the machine's Node.js) sends the six calls through a
small proxy. The proxy passes the first flush on to Kith but answers the SDK 500,
as if the answer were lost, so the SDK retries a batch Kith already stored: it
must be stored once. A wrong write key must be one 401 that no SDK retries, with
nothing stored. The three SDKs' events must be stored identically."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import rudderstack.analytics as rudder_analytics
import segment.analytics as segment_analytics

from kith.domain.external_identity import external_profile_id
from tests.e2e.conftest import Server, create_source

Json = dict[str, Any]
SOURCE = "sdk-app"
NODE_DIR = Path(__file__).resolve().parent / "segment_node"
_HOP_HEADERS = {"host", "content-length", "connection", "transfer-encoding"}


class FlakyProxy:
    """Forwards every request to Kith; with `lose_first`, the first answer is
    replaced by a 500 (Kith has stored it, the SDK thinks it failed)."""

    def __init__(self, target: str, *, lose_first: bool) -> None:
        self.target = target
        self.lose_first = lose_first
        self.seen: list[tuple[str, int]] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
                answer = httpx.post(proxy.target + self.path, content=body, headers=headers)
                status, content = answer.status_code, answer.content
                with proxy._lock:
                    if proxy.lose_first and not proxy.seen:
                        status, content = 500, b"upstream answer lost"
                    proxy.seen.append((self.path, status))
                self.send_response(status)
                self.send_header("Content-Type", answer.headers.get("content-type", "text/plain"))
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FlakyProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def python_sdk(module: Any, **options: Any) -> Callable[[str, str, str, str], list[str]]:
    """The six calls through a Python SDK's own Client (both SDKs share its API)."""

    def send(host: str, key: str, user: str, anonymous: str) -> list[str]:
        errors: list[str] = []
        client = module.Client(
            key,
            host=host,
            upload_interval=0.05,
            max_retries=3,
            on_error=lambda error, _batch: errors.append(str(error)),
            **options,
        )
        client.identify(user, {"email": f"{user}@x.io", "firstName": "Ann"}, anonymous_id=anonymous)
        client.track(user, "Order Completed", {"total": 12.5}, anonymous_id=anonymous)
        client.page(user, name="Home", properties={"url": "https://x.io/"}, anonymous_id=anonymous)
        client.screen(user, name="Settings", anonymous_id=anonymous)
        client.group(user, "acme", {"plan": "pro"}, anonymous_id=anonymous)
        client.alias(anonymous, user)
        client.flush()
        client.join()
        return errors

    return send


def node_sdk(host: str, key: str, user: str, anonymous: str) -> list[str]:
    done = subprocess.run(
        ["node", "send.cjs", host, key, user, anonymous],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )
    failures: list[str] = json.loads(done.stdout.strip().splitlines()[-1])["failures"]
    return failures


SDKS: dict[str, Callable[[str, str, str, str], list[str]]] = {
    "segment-python": python_sdk(segment_analytics),
    "rudder-python": python_sdk(rudder_analytics, gzip=True),
    "segment-node": node_sdk,
}


@pytest.fixture(scope="session")
def analytics_node() -> Path:
    """@segment/analytics-node from npm, in a git-ignored node_modules beside its script."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("Node.js and npm are needed to test @segment/analytics-node")
    if not (NODE_DIR / "node_modules" / "@segment" / "analytics-node").is_dir():
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--no-package-lock", "--loglevel=error"],
            cwd=NODE_DIR,
            check=True,
            timeout=300,
        )
    return NODE_DIR


@pytest.fixture
def segment_server(server: Server) -> Iterator[Server]:
    create_source(server, SOURCE, bridges=["segment"])
    yield server


def events_of(server: Server) -> list[Json]:
    response = httpx.get(
        f"{server.url}/api/events", params={"limit": 1000}, headers=server.admin, timeout=30
    )
    assert response.status_code == 200, response.text
    items: list[Json] = response.json()["items"]
    return items


def profile(server: Server, external_id: str) -> Json:
    response = httpx.get(
        f"{server.url}/api/profiles/{external_profile_id(external_id)}", headers=server.admin
    )
    assert response.status_code == 200, response.text
    found: Json = response.json()
    return found


def stored_shape(server: Server, sdk: str) -> Json:
    """What Kith stored for one SDK's person, with that SDK's ids replaced by U and A."""
    user, anonymous = f"{sdk}-user", f"{sdk}-anon"
    person = profile(server, user)

    def plain(value: Any) -> Any:
        text = json.dumps(value).replace(user, "U").replace(anonymous, "A")
        return json.loads(text)

    own = [e for e in events_of(server) if e["source"]["id"] == SOURCE]
    mine = [e for e in own if e["profile"]["id"] == person["id"]]
    return {
        "events": sorted(plain([e["type"], e["name"], e["properties"]]) for e in mine),
        "one profile": person == profile(server, anonymous),
        "sessions": len({e["session"]["id"] for e in mine}),
        "identifier": plain(person["data"]["identifier"]),
        "contact": plain(person["data"]["contact"]),
        "pii": person["data"]["pii"],
        "views": person["stats"]["views"],
        "visits": person["stats"]["visits"],
    }


@pytest.mark.e2e
def test_each_sdk_stores_the_six_calls_once_despite_a_lost_answer_and_identically(
    segment_server: Server, analytics_node: Path
) -> None:
    shapes = {}
    for name, send in SDKS.items():
        with FlakyProxy(segment_server.url, lose_first=True) as proxy:
            errors = send(proxy.url, SOURCE, f"{name}-user", f"{name}-anon")
        assert errors == [], name
        statuses = [status for _, status in proxy.seen]
        assert statuses[0] == 500 and statuses[1:] and set(statuses[1:]) == {200}, (name, statuses)
        assert {path for path, _ in proxy.seen} == {"/v1/batch"}
        shapes[name] = stored_shape(segment_server, name)
    expected = {
        "events": sorted(
            [
                ["alias", "Alias", {"previousId": "A", "userId": "U"}],
                [
                    "group-membership",
                    "Group Membership",
                    {"groupId": "acme", "traits": {"plan": "pro"}},
                ],
                ["identify", "Identify", {"email": "U@x.io", "firstname": "Ann", "id": "U"}],
                ["order-completed", "Order Completed", {"total": 12.5}],
                ["page-view", "Page View", {"name": "Home", "url": "https://x.io/"}],
                ["screen-view", "Screen View", {"name": "Settings"}],
            ]
        ),
        "one profile": True,
        "sessions": 1,
        "identifier": {"id": "U"},
        "contact": {"email": {"main": "U@x.io"}, "phone": {}},
        "pii": {"firstname": "Ann"},
        "views": 1,
        "visits": 1,
    }
    assert shapes == dict.fromkeys(SDKS, expected)
    own = [e for e in events_of(segment_server) if e["source"]["id"] == SOURCE]
    assert len(own) == 6 * len(SDKS)


@pytest.mark.e2e
@pytest.mark.parametrize("sdk", list(SDKS))
def test_a_wrong_write_key_is_one_401_and_nothing_stored(
    segment_server: Server, analytics_node: Path, sdk: str
) -> None:
    with FlakyProxy(segment_server.url, lose_first=False) as proxy:
        errors = SDKS[sdk](proxy.url, "not-a-source", "u", "a")
    assert proxy.seen == [("/v1/batch", 401)]
    assert errors and all("401" in error or "write" in error.lower() for error in errors), errors
    assert events_of(segment_server) == []
