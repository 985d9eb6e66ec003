"""Fill a session document's device / os / app / utm parts from one request.

This is the only place that knows API.md's Session shape for those parts; the
small modules next to it each answer one question (user agent, client IP,
language, UTM, geo). Everything read here comes from the client, so any JSON
value may sit where a dict or string is expected: such values are skipped,
never raised on.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from kith.tracking.client_ip import Network, client_ip
from kith.tracking.geo import GeoLocator, geo_from_context
from kith.tracking.language import language_from
from kith.tracking.useragent import UserAgent, parse_user_agent
from kith.tracking.utm import utm_from


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """What the HTTP layer knows about a request; header names are lower-case."""

    peer: str | None
    headers: Mapping[str, str]


def _dig(document: object, *path: str) -> object:
    """`document[path[0]][path[1]]...`, or None as soon as a step is not a dict."""
    for key in path:
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    return document


def _header(info: RequestInfo, name: str) -> str | None:
    value = info.headers.get(name)
    return value if isinstance(value, str) else None


def _resolution(context: dict[str, Any]) -> str | None:
    """The screen as "WIDTHxHEIGHT", only from positive integers."""
    width = _dig(context, "screen", "local", "width")
    height = _dig(context, "screen", "local", "height")
    if type(width) is int and type(height) is int and width > 0 and height > 0:
        return f"{width}x{height}"
    return None


class SessionEnrichment:
    """Per-process enrichment state: the trusted proxies and the GeoIP reader."""

    def __init__(
        self,
        trusted_proxies: tuple[Network, ...] = (),
        geoip_db: str | os.PathLike[str] | None = None,
    ) -> None:
        self.trusted_proxies = trusted_proxies
        self.geo = GeoLocator(geoip_db)
        # the same few peers and proxy chains over and over (and one for every
        # payload of a batch): parsing addresses is the costly part of the answer
        self._client_ip = lru_cache(maxsize=1024)(
            lambda peer, forwarded: client_ip(peer, forwarded, trusted_proxies)
        )
        # ua-parser loads its regexes on first use (~120 ms): pay that at start-up,
        # not on the first tracked request.
        parse_user_agent("")

    def close(self) -> None:
        self.geo.close()

    def ip_of(self, info: RequestInfo) -> str | None:
        """The client's IP, believing X-Forwarded-For only from trusted proxies."""
        ip: str | None = self._client_ip(info.peer, _header(info, "x-forwarded-for"))
        return ip

    def user_agent_of(self, context: object, info: RequestInfo) -> str:
        """The user-agent string to parse ("" if none).

        The browser's own `navigator.userAgent` from the context wins (a
        server-side sender forwards its visitor's there), else the request's
        User-Agent header. Callers may parse it early, e.g. to reject bots.
        """
        ua_string = _dig(context, "browser", "local", "browser", "userAgent")
        if isinstance(ua_string, str) and ua_string.strip():
            return ua_string
        return _header(info, "user-agent") or ""

    def enrich(
        self,
        session: dict[str, Any],
        context: dict[str, Any],
        page_url: str | None,
        info: RequestInfo,
        ip: str | None,
    ) -> UserAgent:
        """Replace `session`'s device, os, app and utm parts; return the parsed UA."""
        browser = _dig(context, "browser", "local", "browser")
        ua = parse_user_agent(self.user_agent_of(context, info))

        geo = geo_from_context(_dig(context, "location")) or self.geo.lookup(ip)
        session["device"] = {
            "name": ua.device_name,
            "brand": ua.device_brand,
            "model": ua.device_model,
            "type": ua.device_type,
            "ip": ip,
            "resolution": _resolution(context),
            "geo": geo,
        }
        session["os"] = {"name": ua.os_name, "version": ua.os_version}
        session["app"] = {
            "type": "browser" if ua.browser_name else None,
            "name": ua.browser_name,
            "version": ua.browser_version,
            "language": language_from(_dig(browser, "language"), _header(info, "accept-language")),
            "bot": ua.is_bot,
        }
        session["utm"] = utm_from(_dig(context, "utm"), page_url)
        return ua
