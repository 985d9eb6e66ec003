"""A page on another site carrying Tracardi's documented snippet, pointed at Kith.

Every test reads what was stored back through the admin API."""

from __future__ import annotations

import json

import httpx2 as httpx
import pytest
from playwright.sync_api import BrowserContext

from tests.browser.conftest import (
    SOURCE,
    admin_get,
    is_track,
    open_tracked,
    stored_events,
    visitor_ids,
)
from tests.browser.site import Site, page, snippet, tracker_options
from tests.e2e.conftest import Server

pytestmark = pytest.mark.e2e


def shop_page(site: Site, kith: Server, path: str, body: str = "", **kwargs: bool) -> str:
    head = snippet(tracker_options(kith.url, SOURCE), **kwargs)
    return site.publish(path, page("Shop", head, body))


def test_snippet_sends_the_page_view_and_queued_calls_as_one_payload(
    context: BrowserContext, site: Site, kith: Server
) -> None:
    """Tracardi's later docs put the loader before `const options` in one script."""
    queued = "<script>window.tracker.track('product-viewed', {sku: 'A1'});</script>"
    url = shop_page(site, kith, "/product.html", queued, loader_first=True)
    tab = context.new_page()
    sent = []
    tab.on("request", lambda r: sent.append(r) if r.url.endswith("/track") else None)
    answer = open_tracked(tab, url)

    assert len(sent) == 1  # one payload for the page-view and the call queued before load
    payload = json.loads(sent[0].post_data or "{}")
    assert [e["type"] for e in payload["events"]] == ["page-view", "product-viewed"]
    assert len(answer["events"]) == 2

    profile, session = visitor_ids(tab)
    assert answer["profile"]["id"] == profile and answer["session"]["id"] == session
    assert payload["device"]["id"] == tab.evaluate("localStorage.getItem('kith-device-id')")
    events = stored_events(kith, 2, session=session, source=SOURCE)
    by_type = {e["type"]: e for e in events}
    assert by_type["product-viewed"]["properties"] == {"sku": "A1"}
    assert by_type["page-view"]["hit"]["url"] == url
    assert by_type["page-view"]["hit"]["title"] == "Shop"
    assert {e["profile"]["id"] for e in events} == {profile}
    stored_session = admin_get(kith, f"/api/sessions/{session}")
    assert "Chrome" in stored_session["app"]["name"]  # the browser context, enriched
    assert stored_session["device"]["resolution"]
    # what Tracardi's own loader checks before it replays its queue
    state = tab.evaluate("window.tracardi.default.getState().plugins.tracardi.initialized")
    assert state is True
    assert tab.evaluate("window.tracker === window.tracardi.default")


def test_the_loader_also_works_as_a_script_file(
    context: BrowserContext, site: Site, kith: Server
) -> None:
    options = tracker_options(kith.url, SOURCE)
    head = (
        f"<script>const options = {options};</script>"
        f"<script src='{kith.url}/tracker/loader.min.js'></script>"
        "<script>window.tracker.track('from-a-file', {});</script>"
    )
    tab = context.new_page()
    answer = open_tracked(tab, site.publish("/file-loader.html", page("File", head)))
    assert len(answer["events"]) == 2
    _, session = visitor_ids(tab)
    assert len(stored_events(kith, 1, session=session, type="from-a-file")) == 1


def test_fire_sends_at_once_in_its_own_payload(
    context: BrowserContext, site: Site, kith: Server
) -> None:
    tab = context.new_page()
    open_tracked(tab, shop_page(site, kith, "/fire.html"))
    with tab.expect_request(lambda r: r.url.endswith("/track")) as request:
        answer = tab.evaluate(
            "window.tracardi.default.track('add-to-cart', {sku: 'B2'}, {fire: true})"
        )
    assert [e["type"] for e in json.loads(request.value.post_data or "{}")["events"]] == [
        "add-to-cart"
    ]
    assert len(answer["events"]) == 1
    stored = admin_get(kith, f"/api/events/{answer['events'][0]}")
    assert stored["type"] == "add-to-cart" and stored["properties"] == {"sku": "B2"}


def test_calls_without_fire_are_batched_into_one_payload(
    context: BrowserContext, site: Site, kith: Server
) -> None:
    tab = context.new_page()
    open_tracked(tab, shop_page(site, kith, "/batch.html"))
    sent = []
    tab.on("request", lambda r: sent.append(r) if r.url.endswith("/track") else None)
    answers = tab.evaluate(
        """Promise.all([
            window.tracardi.default.track('search', {q: 'shoes'}),
            window.tracardi.default.track('filter', {size: 42}),
        ])"""
    )
    assert len(sent) == 1
    assert answers[0] == answers[1] and len(answers[0]["events"]) == 2


def test_an_as_beacon_event_sent_on_pagehide_is_stored(
    context: BrowserContext, site: Site, kith: Server
) -> None:
    leave = (
        "<script>addEventListener('pagehide', () => window.tracardi.default"
        ".track('page-left', {reason: 'navigated'}, {asBeacon: true}));</script>"
    )
    tab = context.new_page()
    open_tracked(tab, shop_page(site, kith, "/leave.html", leave))
    _, session = visitor_ids(tab)
    tab.goto(site.publish("/elsewhere.html", page("Elsewhere", "")))
    left = stored_events(kith, 1, session=session, type="page-left")
    assert len(left) == 1 and left[0]["properties"] == {"reason": "navigated"}


def test_batched_events_still_waiting_go_out_when_the_page_is_left(
    context: BrowserContext, site: Site, kith: Server
) -> None:
    """A batch that would wait a minute is sent as a beacon when the page goes away."""
    options = tracker_options(
        kith.url, SOURCE, extra="settings: {batchDelay: 60000}, ", page_view=False
    )
    tab = context.new_page()
    sent = []
    tab.on("request", lambda r: sent.append(r) if r.url.endswith("/track") else None)
    tab.goto(site.publish("/late.html", page("Late", snippet(options))))
    tab.wait_for_function("window.tracker === window.tracardi?.default")
    tab.evaluate("void window.tracardi.default.track('last-click', {button: 'buy'})")
    tab.wait_for_timeout(200)
    assert sent == []  # still waiting for its batch
    tab.goto(site.publish("/after-late.html", page("After", "")))
    last = stored_events(kith, 1, type="last-click")
    assert len(last) == 1 and last[0]["properties"] == {"button": "buy"}


def test_identify_sets_the_contact_on_the_profile(
    context: BrowserContext, site: Site, kith: Server
) -> None:
    tab = context.new_page()
    open_tracked(tab, shop_page(site, kith, "/login.html"))
    answer = tab.evaluate(
        "window.tracardi.default.identify({email: 'ann@shop.example', firstname: 'Ann'})"
    )
    profile = admin_get(kith, f"/api/profiles/{answer['profile']['id']}")
    assert profile["data"]["contact"]["email"]["main"] == "ann@shop.example"
    assert profile["data"]["pii"]["firstname"] == "Ann"
    identified = stored_events(kith, 1, profile=profile["id"], type="identify")
    assert identified[0]["properties"]["email"] == "ann@shop.example"


def test_consent_sends_a_consent_update(context: BrowserContext, site: Site, kith: Server) -> None:
    for kind in ("marketing", "analytics"):
        created = httpx.put(
            f"{kith.url}/api/consent-types/{kind}", json={"revokable": True}, headers=kith.admin
        )
        assert created.status_code == 200, created.text
    tab = context.new_page()
    open_tracked(tab, shop_page(site, kith, "/consent.html"))
    answer = tab.evaluate("window.tracardi.default.consent(['marketing'], 'analytics')")
    profile = admin_get(kith, f"/api/profiles/{answer['profile']['id']}")
    assert profile["consents"]["marketing"]["granted"] is True
    assert profile["consents"]["analytics"]["granted"] is False
    update = stored_events(kith, 1, profile=profile["id"], type="consent-update")
    assert update[0]["properties"] == {"granted": ["marketing"], "revoked": ["analytics"]}


def test_a_second_page_load_keeps_the_profile_and_the_session(
    context: BrowserContext, site: Site, kith: Server
) -> None:
    url = shop_page(site, kith, "/home.html")
    tab = context.new_page()
    first = open_tracked(tab, url)
    ids = visitor_ids(tab)
    second = open_tracked(tab, url)
    assert visitor_ids(tab) == ids
    assert second["profile"] == first["profile"] and second["session"] == first["session"]
    profile = admin_get(kith, f"/api/profiles/{ids[0]}")
    assert profile["stats"]["visits"] == 1 and profile["stats"]["views"] == 2
    assert len(stored_events(kith, 2, session=ids[1], type="page-view")) == 2


def test_a_new_session_after_the_cookie_is_gone_keeps_the_profile(
    context: BrowserContext, site: Site, kith: Server
) -> None:
    url = shop_page(site, kith, "/return.html")
    tab = context.new_page()
    open_tracked(tab, url)
    profile, session = visitor_ids(tab)
    context.clear_cookies(name="tracardi-session-id")  # 30 minutes without activity
    open_tracked(tab, url)
    again, new_session = visitor_ids(tab)
    assert again == profile and new_session != session
    stored = admin_get(kith, f"/api/profiles/{profile}")
    assert stored["stats"]["visits"] == 2
    assert admin_get(kith, f"/api/sessions/{new_session}")["profile"]["id"] == profile


def test_the_session_cookie_lasts_thirty_minutes_and_is_renewed(
    context: BrowserContext, site: Site, kith: Server
) -> None:
    tab = context.new_page()
    open_tracked(tab, shop_page(site, kith, "/cookie.html"))
    cookie = next(c for c in context.cookies() if c["name"] == "tracardi-session-id")
    assert cookie["path"] == "/" and cookie["sameSite"] == "Lax"
    first_expiry = cookie["expires"]
    assert 29 * 60 < first_expiry - tab.evaluate("Date.now() / 1000") <= 30 * 60
    tab.wait_for_timeout(1100)
    with tab.expect_response(is_track):
        tab.evaluate("window.tracardi.default.track('scroll', {}, {fire: true})")
    renewed = next(c for c in context.cookies() if c["name"] == "tracardi-session-id")
    assert renewed["value"] == cookie["value"] and renewed["expires"] > first_expiry


def test_a_ux_item_from_a_deployed_flow_appears_in_the_page(
    context: BrowserContext, site: Site, kith: Server
) -> None:
    nodes = [
        {"id": "start", "type": "start"},
        {"id": "offer", "type": "ux",
         "config": {"tag": "div", "props": {"id": "offer", "class": "offer"},
                    "content": "Hello {{event@properties.name}}, 10% off today"}},
    ]  # fmt: skip
    flow = {"mode": "sync", "nodes": nodes, "edges": [{"from": "start", "to": "offer"}]}
    for method, path, body in (
        ("PUT", "/api/flows/offer", flow),
        ("POST", "/api/flows/offer/deploy", None),
        ("PUT", "/api/rules/offer", {"flow": "offer", "event_type": "show-offer"}),
    ):
        response = httpx.request(method, f"{kith.url}{path}", json=body, headers=kith.admin)
        assert response.status_code == 200, response.text
    fire = "<script>window.tracker.track('show-offer', {name: 'Ann'}, {fire: true});</script>"
    tab = context.new_page()
    tab.goto(shop_page(site, kith, "/offer-flow.html", fire))
    tab.wait_for_selector("div#offer", state="attached", timeout=10_000)
    assert tab.locator("div#offer").text_content() == "Hello Ann, 10% off today"
    assert tab.locator("div#offer").get_attribute("class") == "offer"
