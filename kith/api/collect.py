"""The public collector routes: POST/PUT /track and the four /collect webhooks.

Plain Starlette routes, not FastAPI ones: FastAPI's dependency layer costs more
than the rest of the hot path. Each handler is a module-level function of the
one `Collector` (built with the app, kept in `app.state`); the body is read
once, bounded, and decoded straight into typed structs."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kith.api.collector import Call, Collector, is_true, json_response
from kith.api.redirect import follow
from kith.domain.errors import InvalidPayload
from kith.domain.payload import (
    EventPayload,
    Ref,
    SourceRef,
    TrackerPayload,
    check_json,
    decode_batch,
    decode_payload,
    needs_json_check,
    normalise,
)
from kith.tracking.ingest import is_async


def collector_of(request: Request) -> Collector:
    collector: Collector = request.app.state.collector
    return collector


async def _track(collector: Collector, request: Request, call: Call) -> Response:
    collector.admit()
    payload = decode_payload(await collector.body(request), collector.limits)
    (source,) = await collector.sources(call, [payload.source.id])
    profile_less = is_true(request.query_params.get("profile_less"))
    if is_async(payload, source):
        result = await collector.ingest(request, payload, source, profile_less=profile_less)
    else:
        result = await collector.track(request, call, payload, source, profile_less=profile_less)
    return json_response(result.response())


async def _track_batch(collector: Collector, request: Request, call: Call) -> Response:
    collector.admit()
    body = await collector.body(request)
    payloads = decode_batch(body, collector.limits, collector.settings.max_batch_payloads)
    sources = await collector.sources(call, [payload.source.id for payload in payloads])
    profile_less = is_true(request.query_params.get("profile_less"))
    results = await collector.track_many(request, payloads, sources, profile_less=profile_less)
    return json_response([result.response() for result in results])


async def _webhook_properties(collector: Collector, request: Request) -> Any:
    """The event's properties: the query string (GET) or the JSON object body (POST)."""
    if request.method == "GET":
        return dict(request.query_params)
    body = await collector.body(request)
    try:
        properties = orjson.loads(body) if body.strip() else {}
    except orjson.JSONDecodeError as exc:
        raise InvalidPayload.at(["body"], f"Malformed JSON: {exc}", "json_invalid") from None
    if not isinstance(properties, dict):
        raise InvalidPayload.at(["body"], "Expected a JSON object", "type_error")
    if needs_json_check(body, collector.limits.max_depth):
        check_json(properties, collector.limits.max_depth, ["body"])
    return properties


async def _collect(collector: Collector, request: Request, call: Call) -> Response:
    collector.admit()
    params = request.path_params
    properties = await _webhook_properties(collector, request)
    session_id = params.get("session_id")
    payload = TrackerPayload(
        source=SourceRef(params["source_id"]),
        session=Ref(session_id) if session_id else None,
        events=[EventPayload(type=params["event_type"], properties=properties)],
        options={} if session_id else {"saveSession": False},
    )
    normalise(payload, collector.limits, ["path"])
    (source,) = await collector.sources(call, [payload.source.id])
    result = await collector.track(request, call, payload, source, profile_less=not session_id)
    return json_response(result.response())


async def track(request: Request) -> Response:
    return await collector_of(request).answer(request, "rest", _track, "/track")


async def track_batch(request: Request) -> Response:
    return await collector_of(request).answer(request, "rest", _track_batch, "/track")


async def collect(request: Request) -> Response:
    route = WITH_SESSION if "session_id" in request.path_params else WITHOUT_SESSION
    return await collector_of(request).answer(request, "webhook", _collect, route)


async def redirect(request: Request) -> Response:
    return await collector_of(request).answer(request, "redirect", follow, REDIRECT)


async def preflight(request: Request) -> Response:
    return await collector_of(request).cors.preflight(request)


WITH_SESSION = "/collect/{event_type}/{source_id}/{session_id}"
WITHOUT_SESSION = "/collect/{event_type}/{source_id}"
REDIRECT = "/redirect/{redirect_id}"


def collector_routes() -> list[Route]:
    webhook_methods = ["GET", "POST"]
    return [
        Route("/track", track, methods=["POST"]),
        Route("/track", track_batch, methods=["PUT"]),
        Route("/track", preflight, methods=["OPTIONS"]),
        Route(WITH_SESSION, collect, methods=webhook_methods),
        Route(WITH_SESSION, preflight, methods=["OPTIONS"]),
        Route(WITHOUT_SESSION, collect, methods=webhook_methods),
        Route(WITHOUT_SESSION, preflight, methods=["OPTIONS"]),
        Route(REDIRECT, redirect, methods=["GET"]),
    ]
