"""CORS for the collector, per source, on the fast path.

Which browser origins may talk to a collector is a property of the source
(`allowed_origins`, default `["*"]`), so Starlette's CORSMiddleware, which
knows one list for the whole app, does not fit; and the collector routes skip
the middleware stack on purpose. The rules:

- a request without an `Origin` header (servers, apps) costs nothing here;
- an allowed origin is echoed back, never `*`, with
  `Access-Control-Allow-Credentials: true` and `Vary: Origin`, on preflights
  and answers alike. Browsers send `navigator.sendBeacon` in credentials mode
  "include", and a beacon with a JSON body (Tracardi's tracker sends one) is
  preflighted; a credentialed request is refused unless the answer names the
  exact origin and allows credentials. `allowed_origins: ["*"]` therefore
  means "echo any origin". Kith sets no cookies of its own and its answers
  never depend on cookies, so allowing credentials gives a page nothing more
  to read;
- an answer carries CORS headers only when every source the request named
  allows the origin; other origins get no CORS headers at all;
- a preflight for `/collect/{type}/{source}` is answered from that source; a
  preflight for `/track` cannot see the body, so it admits the origins that at
  least one enabled `rest` source allows (the answer itself is then checked
  against the payload's own source);
- an answer given before the source is known (a 413, a malformed body) is
  treated like a `/track` preflight.

CORS only decides what a browser lets a page send and read; it is not a guard
on what is stored (a text/plain beacon needs no preflight, servers send no
`Origin`). The source id is the collector's credential; see docs/security.md."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from kith.domain.source import Bridge, Source
from kith.services.sources import SourceRegistry

TRACK_METHODS = "POST, PUT, OPTIONS"
COLLECT_METHODS = "GET, POST, OPTIONS"
EXPOSE_HEADERS = "x-process-time, retry-after"
MAX_AGE = "600"
_MAX_REQUEST_HEADERS = 1024


def _normal(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def origin_matches(origin: str, pattern: str) -> bool:
    """`*`, an exact origin, or `scheme://*.example.com` for any subdomain of it."""
    pattern = _normal(pattern)
    if pattern == "*":
        return True
    origin = _normal(origin)
    if "://*." not in pattern:
        return origin == pattern
    scheme, _, domain = pattern.partition("://*.")
    parts = urlsplit(origin)
    host = parts.netloc
    return parts.scheme == scheme and host.endswith("." + domain) and len(host) > len(domain) + 1


def allow_origin(origin: str, patterns: Iterable[str]) -> str | None:
    """The `Access-Control-Allow-Origin` value for `origin` (the origin itself), or None.

    Never `*`: a wildcard answer is refused for credentialed requests (beacons)."""
    for pattern in patterns:
        if origin_matches(origin, pattern):
            return origin
    return None


def allow_origin_for_all(origin: str, sources: Iterable[Source]) -> str | None:
    """Allowed only if every one of `sources` allows it (a PUT batch names several)."""
    for source in sources:
        if allow_origin(origin, source.allowed_origins) is None:
            return None
    return origin


class CollectorCors:
    """Per-source CORS; the union of all sources' origins is cached like sources are."""

    def __init__(
        self,
        sources: SourceRegistry,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sources = sources
        self._ttl = ttl
        self._clock = clock
        self._union: tuple[float, dict[Bridge, tuple[str, ...]]] | None = None

    async def _patterns(self, bridge: Bridge) -> tuple[str, ...]:
        now = self._clock()
        if self._union is None or self._union[0] <= now:
            union: dict[Bridge, set[str]] = {}
            cursor: str | None = None
            while True:
                page = await self._sources.page(cursor, 1000)
                for source in page.items:
                    for each in source.bridges:
                        if source.accepts(each):
                            union.setdefault(each, set()).update(source.allowed_origins)
                cursor = page.next
                if not cursor:
                    break
            frozen = {name: tuple(sorted(patterns)) for name, patterns in union.items()}
            self._union = (now + self._ttl, frozen)
        return self._union[1].get(bridge, ())

    async def allow_unknown(self, origin: str, bridge: Bridge) -> str | None:
        """Before the source is known: allowed if any enabled source of `bridge` allows it."""
        return allow_origin(origin, await self._patterns(bridge))

    async def preflight(self, request: Request, bridge: Bridge = "rest") -> Response:
        """Answer `OPTIONS` on a collector route: 204, with CORS headers only if allowed
        (without a source in the path: if any enabled source of `bridge` allows it).

        `Allow` names the methods of this path (`/track` or `/collect/...`), as the
        OpenAPI document does."""
        origin = request.headers.get("origin")
        method = request.headers.get("access-control-request-method")
        source_id = request.path_params.get("source_id")
        methods = TRACK_METHODS if source_id is None else COLLECT_METHODS
        response = Response(status_code=204, headers={"Allow": methods})
        if not origin or not method:
            return response
        response.headers["Vary"] = "Origin"
        source_id = request.path_params.get("source_id")
        if source_id is not None:
            source = await self._sources.cached(source_id.strip().lower())
            ok = source is not None and source.accepts("webhook")
            allowed = allow_origin(origin, source.allowed_origins) if ok and source else None
        else:
            allowed = await self.allow_unknown(origin, bridge)
        if allowed is None:
            return response
        asked = request.headers.get("access-control-request-headers", "")
        response.headers.update(
            {
                "Access-Control-Allow-Origin": allowed,
                "Access-Control-Allow-Credentials": "true",
                "Access-Control-Allow-Methods": methods,
                "Access-Control-Allow-Headers": asked[:_MAX_REQUEST_HEADERS] or "Content-Type",
                "Access-Control-Max-Age": MAX_AGE,
            }
        )
        if request.headers.get("access-control-request-private-network") == "true":
            # Chrome asks before a public page may reach a collector on a private network
            response.headers["Access-Control-Allow-Private-Network"] = "true"
        return response

    async def decorate(
        self, response: Response, origin: str, sources: list[Source], bridge: Bridge
    ) -> None:
        """Add CORS headers to a collector answer if the origin may read it."""
        if sources:
            allowed = allow_origin_for_all(origin, sources)
        else:
            allowed = await self.allow_unknown(origin, bridge)
        response.headers["Vary"] = "Origin"
        if allowed is not None:
            response.headers["Access-Control-Allow-Origin"] = allowed
            response.headers["Access-Control-Allow-Credentials"] = "true"
            response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
