"""`GET /tracker/loader.min.js` and `/tracker/liliput.min.js`: the browser tracker.

Every tracked page asks for these, so they are read from the installed package
once (when the routes are built), gzipped once, and answered from memory:
a strong ETag per representation (a 304 when the browser has it), gzip when
the browser accepts it, and `Cache-Control: public` for an hour. The URLs
carry no version (pages embed them for years, as with Tracardi's snippet), so
the hour bounds how long a browser keeps an old tracker before revalidating.
`Access-Control-Allow-Origin: *` lets a page load them with `crossorigin` or
fetch them; they are public and carry no credentials."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from importlib.resources import files

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

TRACKER_FILES = ("loader.min.js", "liliput.min.js")
CACHE_CONTROL = "public, max-age=3600"
CONTENT_TYPE = "application/javascript; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Representation:
    body: bytes
    etag: str


@dataclass(frozen=True, slots=True)
class TrackerAsset:
    """One file, as is and gzipped; each has its own ETag (they are different bytes)."""

    plain: Representation
    gzipped: Representation

    @classmethod
    def of(cls, body: bytes) -> TrackerAsset:
        digest = hashlib.sha256(body).hexdigest()[:32]
        packed = gzip.compress(body, compresslevel=9, mtime=0)
        return cls(Representation(body, f'"{digest}"'), Representation(packed, f'"{digest}-gz"'))


def read_tracker_file(name: str) -> bytes:
    """A built tracker file from the installed package (`kith/tracker/*.min.js`)."""
    return files("kith.tracker").joinpath(name).read_bytes()


def accepts_gzip(accept_encoding: str) -> bool:
    """`gzip` (or `*`) listed with a non-zero quality in an Accept-Encoding header."""
    for item in accept_encoding.lower().split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip() not in ("gzip", "x-gzip", "*"):
            continue
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            return True
    return False


def matches_etag(if_none_match: str, etag: str) -> bool:
    """If-None-Match uses the weak comparison: `W/"x"` matches `"x"`; `*` matches anything."""
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False


def asset_response(request: Request, asset: TrackerAsset) -> Response:
    gzipped = accepts_gzip(request.headers.get("accept-encoding", ""))
    chosen = asset.gzipped if gzipped else asset.plain
    headers = {
        "Cache-Control": CACHE_CONTROL,
        "ETag": chosen.etag,
        "Vary": "Accept-Encoding",
        "Access-Control-Allow-Origin": "*",
        "X-Content-Type-Options": "nosniff",
    }
    if matches_etag(request.headers.get("if-none-match", ""), chosen.etag):
        return Response(status_code=304, headers=headers)
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    headers["Content-Length"] = str(len(chosen.body))
    body = b"" if request.method == "HEAD" else chosen.body
    return Response(body, headers=headers, media_type=CONTENT_TYPE)


def tracker_routes() -> list[Route]:
    """The routes serving the tracker; the files are read here, once, not per request."""
    routes = []
    for name in TRACKER_FILES:
        asset = TrackerAsset.of(read_tracker_file(name))

        async def serve(request: Request, asset: TrackerAsset = asset) -> Response:
            return asset_response(request, asset)

        routes.append(Route(f"/tracker/{name}", serve, methods=["GET", "HEAD"]))
    return routes
