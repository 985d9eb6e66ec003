"""What a real browser lets a page on another site do with the collector.

Tracardi's tracker sends its beacons as `application/json`: Chrome preflights
such a beacon and sends it with credentials, so it is refused unless Kith
echoes the exact origin and allows credentials."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx2 as httpx
import pytest
from playwright.sync_api import BrowserContext, Error, Page

from tests.browser.conftest import SOURCE, stored_events
from tests.browser.site import Site, page
from tests.e2e.conftest import Server

pytestmark = pytest.mark.e2e


def blank_page(context: BrowserContext, site: Site) -> Page:
    tab = context.new_page()
    tab.goto(site.publish("/blank.html", page("Blank", "")))
    return tab


def tracker_payload(source: str, kind: str) -> tuple[str, dict[str, Any]]:
    session = str(uuid.uuid4())
    payload = {
        "source": {"id": source},
        "session": {"id": session},
        "events": [{"type": kind, "properties": {"via": kind}}],
    }
    return session, payload


def test_a_json_beacon_like_tracardis_is_stored(
    context: BrowserContext, site: Site, kith: Server
) -> None:
    tab = blank_page(context, site)
    session, payload = tracker_payload(SOURCE, "json-beacon")
    queued = tab.evaluate(
        """([url, body]) => navigator.sendBeacon(url,
               new Blob([body], {type: 'application/json'}))""",
        [f"{kith.url}/track", json.dumps(payload)],
    )
    assert queued is True
    assert len(stored_events(kith, 1, session=session, type="json-beacon")) == 1


def test_a_credentialed_json_request_can_read_the_answer(
    context: BrowserContext, site: Site, kith: Server
) -> None:
    tab = blank_page(context, site)
    _, payload = tracker_payload(SOURCE, "credentialed")
    answer = tab.evaluate(
        """async ([url, body]) => {
            const r = await fetch(url, {method: 'POST', credentials: 'include', body: body,
                                        headers: {'Content-Type': 'application/json'}});
            return {status: r.status, body: await r.json(),
                    time: r.headers.get('x-process-time')};
        }""",
        [f"{kith.url}/track", json.dumps(payload)],
    )
    assert answer["status"] == 200 and answer["body"]["profile"]["id"]
    assert answer["time"] is not None  # exposed to the page


def test_a_page_of_a_disallowed_origin_cannot_read_the_answer(
    context: BrowserContext, site: Site, kith: Server
) -> None:
    """CORS hides the answer from other sites; it does not stop a simple request being stored."""
    created = httpx.post(
        f"{kith.url}/api/sources",
        json={"id": "partner", "allowed_origins": ["https://partner.example"]},
        headers=kith.admin,
    )
    assert created.status_code == 201, created.text
    tab = blank_page(context, site)
    session, payload = tracker_payload("partner", "unreadable")
    with pytest.raises(Error, match="Failed to fetch"):
        tab.evaluate(
            """([url, body]) => fetch(url, {method: 'POST', body: body,
                   headers: {'Content-Type': 'text/plain'}}).then(r => r.json())""",
            [f"{kith.url}/track", json.dumps(payload)],
        )
    assert len(stored_events(kith, 1, session=session, type="unreadable")) == 1
