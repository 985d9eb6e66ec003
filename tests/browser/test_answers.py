"""What the tracker sends and how it renders an answer, against a fake answer.

The tracker's API address points at the website's own server, which answers
with a canned tracker answer and keeps each payload it received; the tracker
itself still loads from Kith. (A `ux` item from a deployed flow needs flows,
which Kith does not have yet; this renders the same answer shape.)"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import BrowserContext

from tests.browser.conftest import SOURCE, open_tracked, visitor_ids
from tests.browser.site import Site, page, snippet, tracker_options
from tests.e2e.conftest import Server

pytestmark = pytest.mark.e2e


def fake_answer(profile: str, ux: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "task": "t",
        "profile": {"id": profile},
        "session": {"id": None},
        "events": ["e1"],
        "ux": ux or [],
        "response": {},
        "errors": [],
        "warnings": [],
    }


def fake_api_page(site: Site, kith: Server, path: str, extra: str = "", head: str = "") -> str:
    options = tracker_options(kith.url, SOURCE, api=f"{site.origin}/fake-api", extra=extra)
    return site.publish(path, page("Offer", head + snippet(options)))


def test_ux_items_become_elements_with_text_never_html_or_script(
    context: BrowserContext, site: Site, kith: Server
) -> None:
    site.answer = fake_answer(
        "profile-from-answer",
        [
            {
                "tag": "div",
                "props": {"class": "hello", "data-offer": "10%", "onclick": "window.pwned = 1"},
                "content": "<img src=x onerror='window.pwned = 2'>Thanks Ann",
            },
            {"tag": "a", "props": {"id": "go", "href": " JavaScript:window.pwned = 3"}},
            {"tag": "script", "props": {"id": "widget"}, "content": "window.pwned = 4"},
            {"tag": "not a tag", "props": {}, "content": "skipped"},
            {"tag": "span", "props": {"id": "after-bad"}, "content": 42},
        ],
    )
    tab = context.new_page()
    open_tracked(tab, fake_api_page(site, kith, "/offer.html"))
    tab.wait_for_selector("div.hello", state="attached")
    hello = tab.locator("div.hello")
    assert hello.text_content() == "<img src=x onerror='window.pwned = 2'>Thanks Ann"
    assert hello.get_attribute("data-offer") == "10%"
    assert hello.get_attribute("onclick") is None
    assert tab.locator("div.hello img").count() == 0
    assert tab.locator("a#go").count() == 1 and tab.locator("a#go").get_attribute("href") is None
    assert tab.locator("script#widget").count() == 1
    assert tab.locator("#after-bad").text_content() == "42"
    assert tab.evaluate("window.pwned") is None
    # the answer's profile id is adopted (as after a merge)
    assert visitor_ids(tab)[0] == "profile-from-answer"


def test_the_payload_carries_ids_and_the_default_context(
    context: BrowserContext, site: Site, kith: Server
) -> None:
    site.answer = fake_answer("p-1")
    site.received.clear()
    tab = context.new_page()
    open_tracked(tab, fake_api_page(site, kith, "/context.html") + "?utm_source=news&x=1")
    [payload] = site.received
    device = tab.evaluate("localStorage.getItem('kith-device-id')")
    _, session = visitor_ids(tab)
    assert payload["source"] == {"id": SOURCE}
    assert payload["session"] == {"id": session}
    assert payload["device"] == {"id": device}
    assert "profile" not in payload  # a new visitor has no profile id yet
    context_ = payload["context"]
    assert context_["browser"]["local"]["browser"]["userAgent"] == tab.evaluate(
        "navigator.userAgent"
    )
    assert context_["browser"]["local"]["browser"]["language"]
    assert context_["screen"]["local"]["width"] > 0
    assert context_["time"]["tz"]
    assert context_["utm"] == {"source": "news"}
    assert "storage" not in context_
    [event] = payload["events"]
    assert event["type"] == "page-view"
    assert event["context"]["page"]["title"] == "Offer"
    assert event["context"]["page"]["path"] == "/context.html"
    assert "performance" not in event["context"]
    assert event["time"]["create"].endswith("Z")
    # the next payload names the profile the answer gave
    site.received.clear()
    tab.evaluate("window.tracardi.default.track('next', {}, {fire: true})")
    assert site.received[0]["profile"] == {"id": "p-1"}


def test_the_context_switches_of_the_snippet(
    context: BrowserContext, site: Site, kith: Server
) -> None:
    site.answer = fake_answer("p-2")
    site.received.clear()
    switches = (
        "context: {browser: false, screen: false, page: false, storage: true, performance: true}, "
    )
    options_of_payload = "<script>window.response = {context: {debugger: true}};</script>"
    tab = context.new_page()
    open_tracked(tab, fake_api_page(site, kith, "/switches.html", switches, options_of_payload))
    [payload] = site.received
    assert "browser" not in payload["context"] and "screen" not in payload["context"]
    assert payload["context"]["storage"]["local"]["kith-device-id"] == payload["device"]["id"]
    [event] = payload["events"]
    assert "page" not in event["context"]
    assert event["context"]["performance"]["ttfb"] >= 0
    assert payload["options"] == {"debugger": True}  # Tracardi's window.response.context
