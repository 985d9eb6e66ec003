"""One Chromium, one `kith serve` and one website for all the browser tests; a
fresh browser context (cookies, storage: a new visitor) per test.

Package scope, not session: Playwright's sync API keeps its event loop
running in the main thread while it is open, which would stop the async
tests of other directories from running their own loops.

Chromium is Debian's `chromium` package, driven by Playwright; nothing here
downloads a browser. Without it the tests fail: they never skip."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.browser.site import Site
from tests.e2e.conftest import Server, create_source

SOURCE = "web-shop"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian's chromium is not installed: apt-get install -y chromium")
    launched = playwright.chromium.launch(
        executable_path=chromium, headless=True, args=CHROMIUM_ARGS
    )
    yield launched
    launched.close()


@pytest.fixture(scope="package")
def kith(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("kith") / "data")
    running.start()
    create_source(running, SOURCE)
    yield running
    if running.process is not None:
        running.stop()


@pytest.fixture(scope="package")
def site() -> Iterator[Site]:
    serving = Site()
    serving.start()
    yield serving
    serving.stop()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A new visitor: no cookies, no localStorage."""
    fresh = browser.new_context()
    fresh.set_default_timeout(10_000)
    yield fresh
    fresh.close()


def is_track(response: Any) -> bool:
    return response.url.endswith("/track") and response.request.method == "POST"


def open_tracked(page: Page, url: str) -> dict[str, Any]:
    """Load a tracked page and wait for the tracker's first answer (the page-view batch)."""
    with page.expect_response(is_track) as answered:
        page.goto(url)
    response = answered.value
    assert response.ok, response.text()
    body: dict[str, Any] = response.json()
    return body


def visitor_ids(page: Page) -> tuple[str, str]:
    """The profile id (localStorage) and session id (cookie) the tracker keeps."""
    profile = page.evaluate("localStorage.getItem('tracardi-profile-id')")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    return profile, cookies["tracardi-session-id"]


def admin_get(kith: Server, path: str, **params: str) -> Any:
    response = httpx.get(f"{kith.url}{path}", params=params, headers=kith.admin)
    assert response.status_code == 200, response.text
    return response.json()


def stored_events(kith: Server, count: int = 1, wait: float = 5.0, **query: str) -> list[Any]:
    """Events matching `query` from the admin API, once there are at least `count` of them.

    Beacons are not answered to the page, so a test can only wait for them here."""
    deadline = time.monotonic() + wait
    while True:
        items: list[Any] = admin_get(kith, "/api/events", limit="100", **query)["items"]
        if len(items) >= count or time.monotonic() > deadline:
            return items
        time.sleep(0.05)
