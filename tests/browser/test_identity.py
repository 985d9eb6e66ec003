"""Two browsers of one person: identifying with one e-mail ends in one profile."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Browser

from tests.browser.conftest import SOURCE, admin_get, open_tracked, visitor_ids
from tests.browser.site import Site, page, snippet, tracker_options
from tests.e2e.conftest import Server

pytestmark = pytest.mark.e2e


def test_two_browsers_identified_by_one_email_become_one_profile(
    browser: Browser, site: Site, kith: Server
) -> None:
    url = site.publish("/account.html", page("Account", snippet(tracker_options(kith.url, SOURCE))))
    email = f"{uuid.uuid4().hex[:12]}@shop.example"
    laptop, phone = browser.new_context(), browser.new_context()
    try:
        tabs = [laptop.new_page(), phone.new_page()]
        before = []
        for tab in tabs:  # the laptop's profile is created first, so it is the older one
            open_tracked(tab, url)
            before.append(visitor_ids(tab)[0])
        assert before[0] != before[1]
        answers = [
            tab.evaluate(f"window.tracardi.default.identify({{email: '{email}'}})") for tab in tabs
        ]
        survivor = answers[1]["profile"]["id"]
        assert survivor == before[0]  # the phone's answer already names the surviving profile
        for tab in tabs:  # each browser's next answer leaves it holding the survivor's id
            tab.evaluate("window.tracardi.default.track('scroll', {}, {fire: true})")
            assert visitor_ids(tab)[0] == survivor
        for old in before:  # the merged id still resolves, to the survivor
            assert admin_get(kith, f"/api/profiles/{old}")["id"] == survivor
        merged = admin_get(kith, f"/api/profiles/{survivor}")
        assert merged["data"]["contact"]["email"]["main"] == email
        assert set(before) <= set(merged["ids"])
    finally:
        laptop.close()
        phone.close()
