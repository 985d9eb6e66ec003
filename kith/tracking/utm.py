"""Campaign attribution (UTM) for a session.

The tracker snippet sends what it parsed in `context.utm`, but server-side
senders and older snippets only have the page URL, so the URL's `utm_*` query
parameters fill whatever the context leaves out. The input is client-controlled
JSON, so anything unexpected is skipped rather than rejected.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

UTM_KEYS = ("source", "medium", "campaign", "term", "content")


def _clean(value: object) -> str | None:
    """A non-blank string, stripped; anything else counts as absent."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _from_url(page_url: object) -> dict[str, str]:
    """The first non-blank `utm_*` value of each key in the URL's query string."""
    if not isinstance(page_url, str) or "utm_" not in page_url:
        return {}
    try:
        query = urlsplit(page_url).query
        pairs = parse_qsl(query, keep_blank_values=False)
    except ValueError:  # e.g. an unbalanced "[" in the host part
        return {}
    found: dict[str, str] = {}
    for name, raw in pairs:
        key = name.removeprefix("utm_")
        value = _clean(raw)
        if name.startswith("utm_") and key in UTM_KEYS and value and key not in found:
            found[key] = value
    return found


def utm_from(context_utm: object, page_url: str | None) -> dict[str, str | None]:
    """The five UTM values: `context.utm` wins, the page URL's query fills the gaps."""
    given = context_utm if isinstance(context_utm, dict) else {}
    from_url = _from_url(page_url)
    return {key: _clean(given.get(key)) or from_url.get(key) for key in UTM_KEYS}
