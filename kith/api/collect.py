"""The public collector routes: POST/PUT /track and the four /collect webhooks.

Plain Starlette routes, not FastAPI ones: FastAPI's dependency layer costs more
than the rest of the hot path. The body is read once, bounded, and decoded
straight into typed structs."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kith.api.errors import error_response
from kith.config import Settings
from kith.domain.errors import InvalidPayload, KithError, PayloadTooLarge
from kith.domain.payload import (
    EventPayload,
    Ref,
    SourceRef,
    TrackerPayload,
    decode_batch,
    decode_payload,
    normalise,
)
from kith.tracking.enrichment import RequestInfo
from kith.tracking.track import Tracker

Handler = Callable[[Request], Awaitable[Response]]


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


def timed(handler: Handler) -> Handler:
    """Adds `x-process-time` and renders Kith errors, on every collector response."""

    async def wrapped(request: Request) -> Response:
        started = time.perf_counter()
        try:
            response = await handler(request)
        except KithError as exc:
            response = error_response(exc)
        response.headers["x-process-time"] = f"{time.perf_counter() - started:.6f}"
        return response

    return wrapped


def _is_true(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def collector_routes(tracker: Tracker, settings: Settings) -> list[Route]:
    async def track(request: Request) -> Response:
        body = await read_body(request, settings.max_body_bytes)
        payload = decode_payload(body, settings.max_events)
        result = await tracker.track(
            payload,
            request_info(request),
            profile_less=_is_true(request.query_params.get("profile_less")),
        )
        return json_response(result.response())

    async def track_batch(request: Request) -> Response:
        body = await read_body(request, settings.max_body_bytes)
        payloads = decode_batch(body, settings.max_events, settings.max_batch_payloads)
        # every source is checked before anything is stored, so a bad one
        # rejects the batch instead of leaving half of it behind
        sources = [await tracker.source_for(p.source.id, "rest") for p in payloads]
        info = request_info(request)
        profile_less = _is_true(request.query_params.get("profile_less"))
        responses = []
        for payload, source in zip(payloads, sources, strict=True):
            result = await tracker.track(payload, info, profile_less=profile_less, source=source)
            responses.append(result.response())
        return json_response(responses)

    async def collect(request: Request) -> Response:
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
        session_id = params.get("session_id")
        payload = TrackerPayload(
            source=SourceRef(params["source_id"]),
            session=Ref(session_id) if session_id else None,
            events=[EventPayload(type=params["event_type"], properties=properties)],
            options={} if session_id else {"saveSession": False},
        )
        normalise(payload, settings.max_events, ["path"])
        result = await tracker.track(
            payload, request_info(request), bridge="webhook", profile_less=session_id is None
        )
        return json_response(result.response())

    webhook_methods = ["GET", "POST"]
    return [
        Route("/track", timed(track), methods=["POST"]),
        Route("/track", timed(track_batch), methods=["PUT"]),
        Route(
            "/collect/{event_type}/{source_id}/{session_id}",
            timed(collect),
            methods=webhook_methods,
        ),
        Route("/collect/{event_type}/{source_id}", timed(collect), methods=webhook_methods),
    ]
