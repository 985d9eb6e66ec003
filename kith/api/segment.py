"""The Segment-compatible API (API.md section 9): the SDKs of Segment and RudderStack
work against Kith by changing only the host and the write key.

Routes: `POST /v1/batch`, `/v1/import`, `/v1/{track,identify,page,screen,group,alias}`,
the browser's short paths `/v1/{t,i,p,s,g,a,b}`, RudderStack's beacon
`POST /beacon/v1/batch?writeKey=` and its pixel `GET /pixel/v1/{track,page}`.

Every request goes through the one `Collector`, with the guards of `/track` in the
same order: 503 while the writer is backed up (before the body is read), 413 while
reading or decompressing, 400 for a malformed body, 401 for a bad write key (a
source without the `segment` bridge is one), 429 past the source's rate limit
(one token per unit of work), and the answer only once everything is committed.
Success is exactly `{"success": true}`; errors are `{"code", "message"}`, the
shape the SDKs read."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kith.api.collect import collector_of
from kith.api.collector import Call, Collector
from kith.api.errors import error_headers
from kith.api.inflate import inflated
from kith.domain.clock import utcnow
from kith.domain.errors import (
    InvalidPayload,
    KithError,
    Overloaded,
    PayloadTooLarge,
    RateLimited,
    UnknownSource,
)
from kith.domain.segment_messages import (
    MAX_REQUEST_BYTES,
    MESSAGE_TYPES,
    Delivery,
    MessageType,
    decode_batch,
    decode_message,
    message_from_query,
)
from kith.domain.source import normalise_source_id
from kith.tracking.segment_bridge import to_payloads

SUCCESS = b'{"success":true}'
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")
"""A transparent 1x1 GIF, the answer to a pixel."""
_SHORT_PATHS = {"track": "t", "identify": "i", "page": "p", "screen": "s", "group": "g"}
_SHORT_PATHS["alias"] = "a"


def _code(exc: KithError) -> str:
    if isinstance(exc, InvalidPayload):
        return "invalid_request"
    if isinstance(exc, UnknownSource):
        return "invalid_write_key"
    if isinstance(exc, PayloadTooLarge):
        return "payload_too_large"
    if isinstance(exc, RateLimited):
        return "rate_limited"
    if isinstance(exc, Overloaded):
        return "overloaded"
    return "unauthorized" if exc.status_code == 401 else "error"


def _text(detail: object) -> str:
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                where = ".".join(str(part) for part in item.get("loc", []))
                parts.append(f"{where}: {item.get('msg')}" if where else str(item.get("msg")))
            else:
                parts.append(str(item))
        return "; ".join(parts)
    return str(detail)


def segment_error(exc: KithError) -> Response:
    """`{"code", "message"}`; every refusal of the request itself is a 400 (Segment's
    status for it, which no SDK retries), the others keep their status."""
    status = 400 if isinstance(exc, InvalidPayload) else exc.status_code
    body = orjson.dumps({"code": _code(exc), "message": _text(exc.detail)})
    return Response(body, status, headers=error_headers(exc), media_type="application/json")


def write_key_of(request: Request, delivery: Delivery) -> str:
    """The Basic auth user (password empty), else `writeKey` in the body or query."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic" and credentials.strip():
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise UnknownSource("Malformed Basic authorization") from None
        user = decoded.partition(":")[0].strip()
        if user:
            return user
    key = delivery.write_key or request.query_params.get("writeKey", "").strip()
    if not key:
        raise UnknownSource("No write key: send it as the Basic auth user or as writeKey")
    return key


async def _body(collector: Collector, request: Request) -> bytes:
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return await collector.body(request, MAX_REQUEST_BYTES)
    if encoding != "gzip":
        raise InvalidPayload.at(["headers", "content-encoding"], f"Unsupported {encoding!r}")
    return await inflated(request.stream(), MAX_REQUEST_BYTES)


async def _store(collector: Collector, request: Request, call: Call, delivery: Delivery) -> None:
    """Map, authenticate, rate-limit and track; returns once everything is committed."""
    received = utcnow()
    source_id = normalise_source_id(write_key_of(request, delivery))
    units = to_payloads(delivery.messages, source_id, received, collector.limits)
    (source,) = await collector.sources(call, [source_id], units=len(units))
    await collector.track_people(request, call, units, source)


def _accepting(kind: MessageType | None) -> Callable[[Request], Awaitable[Response]]:
    """The endpoint of one message type, or of a batch (`kind` None)."""

    async def handle(collector: Collector, request: Request, call: Call) -> Response:
        collector.admit()
        body = await _body(collector, request)
        depth = collector.limits.max_depth
        delivery = decode_batch(body, depth) if kind is None else decode_message(body, kind, depth)
        await _store(collector, request, call, delivery)
        return Response(SUCCESS, media_type="application/json")

    async def endpoint(request: Request) -> Response:
        return await collector_of(request).answer(request, "segment", handle, render=segment_error)

    return endpoint


def _pixel(kind: MessageType) -> Callable[[Request], Awaitable[Response]]:
    """A GET whose query string is the message: RudderStack's dotted names, or
    Segment's `data` (base64 of the JSON message)."""

    async def handle(collector: Collector, request: Request, call: Call) -> Response:
        collector.admit()
        data = request.query_params.get("data")
        if data:
            try:
                body = base64.b64decode(data + "=" * (-len(data) % 4), altchars=b"-_")
            except (binascii.Error, ValueError):
                raise InvalidPayload.at(["query", "data"], "Not base64") from None
        else:
            body = orjson.dumps(message_from_query(request.query_params.multi_items()))
        delivery = decode_message(body, kind, collector.limits.max_depth)
        if delivery.write_key is None and request.query_params.get("writeKey"):
            delivery.write_key = request.query_params["writeKey"].strip()
        await _store(collector, request, call, delivery)
        return Response(PIXEL, media_type="image/gif", headers={"Cache-Control": "no-store"})

    async def endpoint(request: Request) -> Response:
        return await collector_of(request).answer(request, "segment", handle, render=segment_error)

    return endpoint


async def preflight(request: Request) -> Response:
    return await collector_of(request).cors.preflight(request, "segment")


def segment_routes() -> list[Route]:
    batch = _accepting(None)
    paths: list[tuple[str, Callable[[Request], Awaitable[Response]]]] = [
        (path, batch) for path in ("/v1/batch", "/v1/import", "/v1/b", "/beacon/v1/batch")
    ]
    for kind in MESSAGE_TYPES:
        single = _accepting(kind)
        paths += [(f"/v1/{kind}", single), (f"/v1/{_SHORT_PATHS[kind]}", single)]
    routes = [Route(path, endpoint, methods=["POST"]) for path, endpoint in paths]
    routes += [Route(path, preflight, methods=["OPTIONS"]) for path, _ in paths]
    routes += [
        Route("/pixel/v1/track", _pixel("track"), methods=["GET"]),
        Route("/pixel/v1/page", _pixel("page"), methods=["GET"]),
    ]
    return routes
