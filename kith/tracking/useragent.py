"""User-agent parsing for session enrichment.

ua-parser (1.x, backed by the Rust `regex` resolver) knows browser, OS and
device *families*, but not the coarse device class that a CDP segments on
(mobile / tablet / desktop / bot), so that class is derived here with a small,
explicit heuristic. The same handful of user-agent strings arrive over and over,
so the whole derived result is memoised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import ua_parser

DeviceType = Literal["mobile", "tablet", "desktop", "bot"]

MAX_UA_LENGTH = 1024
"""Longer strings are truncated before parsing, so that a hostile client cannot
fill the cache with megabyte-sized keys. Real user agents are a few hundred chars."""

_BOT_WORDS = re.compile(
    # `(?<!cu)bot`: the Android phone brand CUBOT is not a robot.
    r"(?<!cu)bot|crawl|spider|slurp|headless|phantomjs|lighthouse|curl/|wget/"
    r"|python-requests|python-urllib|aiohttp|httpx|go-http-client|okhttp|java/"
    r"|libwww-perl|apache-httpclient|scrapy|facebookexternalhit|mediapartners"
    r"|bingpreview|feedfetcher|pingdom|uptimerobot",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class UserAgent:
    """What a session document needs from a user-agent string."""

    os_name: str | None = None
    os_version: str | None = None
    browser_name: str | None = None
    browser_version: str | None = None
    device_name: str | None = None
    device_brand: str | None = None
    device_model: str | None = None
    device_type: DeviceType | None = None
    is_bot: bool = False


def parse_user_agent(ua: str) -> UserAgent:
    """Parse `ua`; an empty string gives an all-None `UserAgent` (not a bot)."""
    return _parse(ua[:MAX_UA_LENGTH])


def _join_version(*parts: str | None) -> str | None:
    """Join the leading present parts, like "131.0.0"; None without a major.

    Stops at the first missing part so that a gap never yields "10..7".
    """
    present: list[str] = []
    for part in parts:
        if not part:
            break
        present.append(part)
    return ".".join(present) or None


def _family(family: str | None) -> str | None:
    """ua-parser reports an unknown family as "Other"; the session wants null."""
    return None if not family or family == "Other" else family


def _device_type(ua: str, device_family: str | None) -> DeviceType | None:
    """Bot, then tablet, then mobile, else desktop.

    Tablet is checked before mobile because iPad and Android-tablet strings
    also contain "Mobile"-ish tokens (iPad Safari sends "Mobile/15E148"); Android
    phones are told apart from tablets by the "Mobile" token, as Google documents.
    """
    if not ua.strip():
        return None
    if device_family == "Spider" or _BOT_WORDS.search(ua):
        return "bot"
    if "iPad" in ua or "Tablet" in ua or ("Android" in ua and "Mobile" not in ua):
        return "tablet"
    if "Mobi" in ua or "iPhone" in ua or "iPod" in ua:
        return "mobile"
    return "desktop"


@lru_cache(maxsize=4096)
def _parse(ua: str) -> UserAgent:
    result = ua_parser.parse(ua)
    browser, os, device = result.user_agent, result.os, result.device
    device_family = device.family if device else None
    device_type = _device_type(ua, device_family)
    return UserAgent(
        os_name=_family(os.family) if os else None,
        os_version=_join_version(os.major, os.minor, os.patch) if os else None,
        browser_name=_family(browser.family) if browser else None,
        browser_version=(
            _join_version(browser.major, browser.minor, browser.patch) if browser else None
        ),
        device_name=_family(device_family),
        device_brand=device.brand if device else None,
        device_model=device.model if device else None,
        device_type=device_type,
        is_bot=device_type == "bot",
    )
