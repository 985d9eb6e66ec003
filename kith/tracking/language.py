"""The visitor's preferred language for a session.

The browser's `navigator.language` (sent in the tracker context) is the user's
actual UI choice, so it wins; server-side senders only forward the
Accept-Language header, whose best-ranked tag is the next best guess.
"""

from __future__ import annotations

import re

_TAG = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*")


def _quality(params: list[str]) -> float | None:
    """The `q` weight of one Accept-Language item; None when it is malformed."""
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return None
            return q if 0.0 <= q <= 1.0 else None
    return 1.0


def best_accept_language(header: str | None) -> str | None:
    """The highest-q tag of an Accept-Language header; header order breaks ties.

    `*`, malformed tags, malformed weights and `q=0` ("not acceptable") are skipped.
    """
    if not isinstance(header, str):
        return None
    best: str | None = None
    best_q = 0.0
    for item in header.split(","):
        tag, *params = item.split(";")
        tag = tag.strip()
        q = _quality(params)
        if q is None or not _TAG.fullmatch(tag):
            continue
        if q > best_q:
            best, best_q = tag, q
    return best


def language_from(browser_language: object, accept_language: str | None) -> str | None:
    """`navigator.language` if the client sent one, else the best Accept-Language tag."""
    if isinstance(browser_language, str) and browser_language.strip():
        return browser_language.strip()
    return best_accept_language(accept_language)
