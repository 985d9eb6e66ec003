"""The public collector routes: POST/PUT /track and the four /collect webhooks.

Plain Starlette routes, not FastAPI ones: FastAPI's dependency layer costs more
than the rest of the hot path. The body is read once, bounded, and decoded
straight into typed structs.

The order of the guards is the order of their cost: a full writer queue
refuses (503) before the body is read, the body limit (413) before decoding,
the payload limits (422) before the source lookup, the source (401) before its
rate limit (429), and only then is anything tracked; so every refusal stores
nothing."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kith.api.cors import CollectorCors
from kith.api.errors import error_response
from kith.domain.errors import InvalidPayload, KithError, Overloaded, PayloadTooLarge
from kith.domain.payload import (
    EventPayload,
    PayloadLimits,
    Ref,
    SourceRef,
    TrackerPayload,
    check_json,
    decode_batch,
    decode_payload,
    needs_json_check,
    normalise,
)
from kith.domain.source import Bridge, Source
from kith.services import Services
from kith.tracking.enrichment import RequestInfo
from kith.tracking.ratelimit import SourceRateLimits


@dataclass(slots=True)
class Call:
    """What a handler learnt that the wrapper needs: the sources the request named."""

    bridge: Bridge
    sources: list[Source] = field(default_factory=list)


Handler = Callable[[Request, Call], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def json_response(content: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(content), status_code, media_type="application/json")


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refusing (413) as soon as it grows past `limit`."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"Body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def request_info(request: Request) -> RequestInfo:
    return RequestInfo(
        peer=request.client.host if request.client else None, headers=dict(request.headers)
    )


def _is_true(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def payload_limits(services: Services) -> PayloadLimits:
    settings = services.settings
    return PayloadLimits(
        max_events=settings.max_events,
        max_depth=settings.max_json_depth,
        max_id_length=settings.max_id_length,
        max_type_length=settings.max_event_type_length,
        max_properties=settings.max_event_properties,
    )


def collector_routes(services: Services) -> list[Route]:
    settings = services.settings
    tracker = services.tracker
    storage = services.storage
    limits = payload_limits(services)
    cors = CollectorCors(services.sources, settings.source_cache_ttl)
    rate_limits = SourceRateLimits()

    def admit_load() -> None:
        """Refuse (503) while the writer is backed up, so waiting requests, and the
        memory they hold, stay bounded; nothing has been read or stored yet."""
        if storage.writer_stats().queued >= settings.writer_max_queue:
            raise Overloaded("The writer queue is full; retry shortly")

    def timed(handler: Handler, bridge: Bridge) -> Endpoint:
        """Adds `x-process-time`, CORS headers for browsers, and renders Kith errors,
        on every collector response."""

        async def wrapped(request: Request) -> Response:
            started = time.perf_counter()
            call = Call(bridge)
            try:
                response = await handler(request, call)
            except KithError as exc:
                response = error_response(exc)
            origin = request.headers.get("origin")
            if origin:
                await cors.decorate(response, origin, call.sources, bridge)
            response.headers["x-process-time"] = f"{time.perf_counter() - started:.6f}"
            return response

        return wrapped

    async def track(request: Request, call: Call) -> Response:
        admit_load()
        body = await read_body(request, settings.max_body_bytes)
        payload = decode_payload(body, limits)
        source = await tracker.source_for(payload.source.id, "rest")
        call.sources.append(source)
        rate_limits.admit([(source, 1)])
        result = await tracker.track(
            payload,
            request_info(request),
            profile_less=_is_true(request.query_params.get("profile_less")),
            source=source,
        )
        return json_response(result.response())

    async def track_batch(request: Request, call: Call) -> Response:
        admit_load()
        body = await read_body(request, settings.max_body_bytes)
        payloads = decode_batch(body, limits, settings.max_batch_payloads)
        # every source is checked, and every rate limit taken, before anything is
        # stored, so a bad one rejects the batch instead of leaving half of it behind
        sources = [await tracker.source_for(p.source.id, "rest") for p in payloads]
        call.sources.extend(sources)
        rate_limits.admit((source, 1) for source in sources)
        for index, payload in enumerate(payloads):
            await tracker.changes.refuse_invalid(payload, ["body", index])
        info = request_info(request)
        profile_less = _is_true(request.query_params.get("profile_less"))
        items = list(zip(payloads, sources, strict=True))
        results = await tracker.track_many(items, info, profile_less=profile_less)
        return json_response([result.response() for result in results])

    async def collect(request: Request, call: Call) -> Response:
        admit_load()
        params = request.path_params
        if request.method == "GET":
            properties: Any = dict(request.query_params)
        else:
            body = await read_body(request, settings.max_body_bytes)
            try:
                properties = orjson.loads(body) if body.strip() else {}
            except orjson.JSONDecodeError as exc:
                raise InvalidPayload.at(
                    ["body"], f"Malformed JSON: {exc}", "json_invalid"
                ) from None
            if not isinstance(properties, dict):
                raise InvalidPayload.at(["body"], "Expected a JSON object", "type_error")
            if needs_json_check(body, limits.max_depth):
                check_json(properties, limits.max_depth, ["body"])
        session_id = params.get("session_id")
        payload = TrackerPayload(
            source=SourceRef(params["source_id"]),
            session=Ref(session_id) if session_id else None,
            events=[EventPayload(type=params["event_type"], properties=properties)],
            options={} if session_id else {"saveSession": False},
        )
        normalise(payload, limits, ["path"])
        source = await tracker.source_for(payload.source.id, "webhook")
        call.sources.append(source)
        rate_limits.admit([(source, 1)])
        result = await tracker.track(
            payload,
            request_info(request),
            bridge="webhook",
            profile_less=session_id is None,
            source=source,
        )
        return json_response(result.response())

    webhook_methods = ["GET", "POST"]
    with_session = "/collect/{event_type}/{source_id}/{session_id}"
    without_session = "/collect/{event_type}/{source_id}"
    return [
        Route("/track", timed(track, "rest"), methods=["POST"]),
        Route("/track", timed(track_batch, "rest"), methods=["PUT"]),
        Route("/track", cors.preflight, methods=["OPTIONS"]),
        Route(with_session, timed(collect, "webhook"), methods=webhook_methods),
        Route(with_session, cors.preflight, methods=["OPTIONS"]),
        Route(without_session, timed(collect, "webhook"), methods=webhook_methods),
        Route(without_session, cors.preflight, methods=["OPTIONS"]),
    ]
