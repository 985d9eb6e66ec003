import copy
import ipaddress
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kith.tracking.enrichment import RequestInfo, SessionEnrichment
from tests.tracking.test_geo import LONDON_GEO, write_city_db
from tests.tracking.test_useragent import GOOGLEBOT, IPHONE

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TRUSTED = (ipaddress.ip_network("10.0.0.0/8"),)


def browser_payload() -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((FIXTURES / "browser.json").read_text())
    return payload


@pytest.fixture
def enrichment(tmp_path: Path) -> Iterator[SessionEnrichment]:
    enricher = SessionEnrichment(TRUSTED, write_city_db(tmp_path / "city.mmdb"))
    yield enricher
    enricher.close()


def test_browser_fixture(enrichment: SessionEnrichment) -> None:
    payload = browser_payload()
    page_url = payload["events"][0]["context"]["page"]["url"]
    info = RequestInfo(
        peer="10.0.0.3",
        headers={"x-forwarded-for": "81.2.69.160", "user-agent": "curl/8", "accept-language": "en"},
    )
    ip = enrichment.ip_of(info)
    assert ip == "81.2.69.160"
    session: dict[str, Any] = {"id": payload["session"]["id"], "context": {}}

    ua = enrichment.enrich(session, payload["context"], page_url, info, ip)

    assert not ua.is_bot
    assert session["device"] == {
        "name": None,
        "brand": None,
        "model": None,
        "type": "desktop",
        "ip": "81.2.69.160",
        "resolution": "1920x1080",
        "geo": LONDON_GEO,
    }
    assert session["os"] == {"name": "Windows", "version": "10"}
    assert session["app"] == {
        "type": "browser",
        "name": "Chrome",
        "version": "131.0.0",
        "language": "pl-PL",
        "bot": False,
    }
    assert session["utm"] == {
        "source": "newsletter",
        "medium": "email",
        "campaign": "black-friday",
        "term": None,
        "content": "hero",
    }
    assert session["id"] == payload["session"]["id"]


def test_header_fallbacks(enrichment: SessionEnrichment) -> None:
    info = RequestInfo(
        peer="81.2.69.1", headers={"user-agent": IPHONE, "accept-language": "de;q=0.5, fr"}
    )
    session: dict[str, Any] = {}
    ua = enrichment.enrich(
        session, {}, "https://x.example/?utm_source=ig", info, enrichment.ip_of(info)
    )
    assert ua.device_type == "mobile"
    assert session["device"]["type"] == "mobile"
    assert session["device"]["resolution"] is None
    assert session["device"]["geo"]["city"] == "London"
    assert session["os"] == {"name": "iOS", "version": "17.5"}
    assert session["app"]["language"] == "fr"
    assert session["utm"]["source"] == "ig"


def test_client_location_wins_over_ip(enrichment: SessionEnrichment) -> None:
    info = RequestInfo(peer="81.2.69.1", headers={})
    session: dict[str, Any] = {}
    context = {"location": {"country": "PL", "city": "Kraków"}}
    enrichment.enrich(session, context, None, info, "81.2.69.1")
    assert session["device"]["geo"] == {"country": {"code": "PL"}, "city": "Kraków"}


def test_private_ip_and_no_database_give_empty_geo(enrichment: SessionEnrichment) -> None:
    session: dict[str, Any] = {}
    enrichment.enrich(session, {}, None, RequestInfo("10.0.0.1", {}), "10.0.0.1")
    assert session["device"]["geo"] == {}
    assert session["device"]["ip"] == "10.0.0.1"

    plain = SessionEnrichment((), None)
    session = {}
    plain.enrich(
        session, browser_payload()["context"], None, RequestInfo("81.2.69.1", {}), "81.2.69.1"
    )
    assert session["device"]["geo"] == {}
    plain.close()


def test_untrusted_peer_cannot_spoof_ip(enrichment: SessionEnrichment) -> None:
    info = RequestInfo(peer="198.51.100.7", headers={"x-forwarded-for": "81.2.69.1"})
    assert enrichment.ip_of(info) == "198.51.100.7"


def test_bot(enrichment: SessionEnrichment) -> None:
    session: dict[str, Any] = {}
    ua = enrichment.enrich(session, {}, None, RequestInfo(None, {"user-agent": GOOGLEBOT}), None)
    assert ua.is_bot
    assert session["app"]["bot"] is True
    assert session["device"]["type"] == "bot"


def test_nothing_known_gives_the_empty_shape(enrichment: SessionEnrichment) -> None:
    session: dict[str, Any] = {}
    ua = enrichment.enrich(session, {}, None, RequestInfo(None, {}), None)
    assert not ua.is_bot
    assert session == {
        "device": {
            "name": None,
            "brand": None,
            "model": None,
            "type": None,
            "ip": None,
            "resolution": None,
            "geo": {},
        },
        "os": {"name": None, "version": None},
        "app": {"type": None, "name": None, "version": None, "language": None, "bot": False},
        "utm": {"source": None, "medium": None, "campaign": None, "term": None, "content": None},
    }


GARBAGE_CONTEXTS: list[Any] = [
    {"browser": None, "screen": [], "utm": "x", "location": 5},
    {"browser": {"local": []}, "screen": {"local": {"width": "1920", "height": 1080}}},
    {"browser": {"local": {"browser": {"userAgent": 42, "language": {"x": 1}}}}},
    {"screen": {"local": {"width": True, "height": 1}}, "utm": {"source": []}},
    {"screen": {"local": {"width": 1920.0, "height": 1080.0}}},
    {"screen": {"local": {"width": -1, "height": 1080}}},
    [],
    None,
]


@pytest.mark.parametrize("context", GARBAGE_CONTEXTS)
def test_garbage_context_never_raises(enrichment: SessionEnrichment, context: Any) -> None:
    session: dict[str, Any] = {}
    info = RequestInfo("not-an-ip", {"user-agent": IPHONE, "accept-language": ";;;"})
    enrichment.enrich(session, context, "http://[bad", info, enrichment.ip_of(info))
    assert session["device"]["resolution"] is None
    assert session["device"]["type"] == "mobile"
    assert session["device"]["ip"] is None
    assert session["app"]["language"] is None


def test_fixture_is_not_modified(enrichment: SessionEnrichment) -> None:
    payload = browser_payload()
    before = copy.deepcopy(payload["context"])
    enrichment.enrich({}, payload["context"], None, RequestInfo(None, {}), None)
    assert payload["context"] == before


def test_user_agent_of(enrichment: SessionEnrichment) -> None:
    context = browser_payload()["context"]
    header = RequestInfo(None, {"user-agent": GOOGLEBOT})
    assert "Chrome/131" in enrichment.user_agent_of(context, header)
    assert enrichment.user_agent_of({}, header) == GOOGLEBOT
    assert enrichment.user_agent_of(None, header) == GOOGLEBOT
    blank = {"browser": {"local": {"browser": {"userAgent": " "}}}}
    assert enrichment.user_agent_of(blank, header) == GOOGLEBOT
    assert enrichment.user_agent_of([], RequestInfo(None, {})) == ""
