"""The collector as one object: admit, read, decode, find the source, rate-limit,
track, answer. `/track`, `PUT /track` and `/collect` use it, and so will every
other way in (the Segment-compatible API, redirect links).

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

from kith.api.cors import CollectorCors
from kith.api.errors import error_response
from kith.domain.errors import KithError, Overloaded, PayloadTooLarge
from kith.domain.external_identity import ExternalIdentity
from kith.domain.payload import PayloadLimits, TrackerPayload
from kith.domain.source import Bridge, Source
from kith.services import Services
from kith.tracking.enrichment import RequestInfo
from kith.tracking.ingest import is_async
from kith.tracking.plan import TrackResult
from kith.tracking.ratelimit import SourceRateLimits


@dataclass(slots=True)
class Call:
    """One collector request as the answer needs it: its bridge and the sources it named
    (CORS is decided by them)."""

    bridge: Bridge
    sources: list[Source] = field(default_factory=list)


Handler = Callable[["Collector", Request, Call], Awaitable[Response]]
Observe = Callable[[str, str, int, float], None]
"""Records one request: (route template, method, status, seconds)."""
Render = Callable[[KithError], Response]


def json_response(content: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(content), status_code, media_type="application/json")


def request_info(request: Request) -> RequestInfo:
    return RequestInfo(
        peer=request.client.host if request.client else None, headers=dict(request.headers)
    )


def is_true(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def route_template(request: Request) -> str:
    """The template of the route that matched (`/collect/{event_type}/{source_id}`), never
    the path itself: one label value per route, however many ids pass through it."""
    path = getattr(request.scope.get("route"), "path", None)
    return path if isinstance(path, str) else "other"


class Collector:
    def __init__(self, services: Services, observe: Observe | None = None) -> None:
        settings = services.settings
        self.services = services
        self.observe = observe
        """Where each answered request is recorded for `/metrics` (None: metrics off)."""
        self.settings = settings
        self.tracker = services.tracker
        self.limits = PayloadLimits(
            max_events=settings.max_events,
            max_depth=settings.max_json_depth,
            max_id_length=settings.max_id_length,
            max_type_length=settings.max_event_type_length,
            max_properties=settings.max_event_properties,
        )
        self.cors = CollectorCors(services.sources, settings.source_cache_ttl)
        self.rate_limits = SourceRateLimits()

    async def answer(
        self,
        request: Request,
        bridge: Bridge,
        handler: Handler,
        route: str | None = None,
        render: Render = error_response,
    ) -> Response:
        """Run `handler`; render Kith errors (`{"detail"}`, or another protocol's shape);
        add CORS headers for browsers and `x-process-time` to every collector response,
        and record it under `route` (the route's template; by default the one the router
        matched)."""
        started = time.perf_counter()
        call = Call(bridge)
        load = self.services.load
        load.active += 1
        try:
            response = await handler(self, request, call)
        except KithError as exc:
            response = render(exc)
        finally:
            load.active -= 1
        origin = request.headers.get("origin")
        if origin:
            await self.cors.decorate(response, origin, call.sources, bridge)
        elapsed = time.perf_counter() - started
        response.headers["x-process-time"] = f"{elapsed:.6f}"
        if self.observe is not None:
            template = route or route_template(request)
            self.observe(template, request.method, response.status_code, elapsed)
        return response

    def admit(self) -> None:
        """Refuse (503) while the writer is backed up, so waiting requests, and the
        memory they hold, stay bounded; nothing has been read or stored yet."""
        if self.services.storage.writer_stats().queued >= self.settings.writer_max_queue:
            raise Overloaded("The writer queue is full; retry shortly")

    async def body(self, request: Request, limit: int | None = None) -> bytes:
        """The whole body, refusing (413) as soon as it grows past the limit (the
        configured one unless the protocol has its own)."""
        limit = self.settings.max_body_bytes if limit is None else limit
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

    async def sources(self, call: Call, source_ids: list[str], *, units: int = 1) -> list[Source]:
        """The named sources (401 for any unknown, disabled or not of this bridge), then
        their rate limits (429), `units` payloads for each: all are checked before
        anything is stored."""
        found = [await self.tracker.source_for(source_id, call.bridge) for source_id in source_ids]
        call.sources.extend(found)
        self.rate_limits.admit((source, units) for source in found)
        return found

    async def track(
        self,
        request: Request,
        call: Call,
        payload: TrackerPayload,
        source: Source,
        *,
        profile_less: bool,
    ) -> TrackResult:
        return await self.tracker.track(
            payload,
            request_info(request),
            bridge=call.bridge,
            profile_less=profile_less,
            source=source,
        )

    async def ingest(
        self, request: Request, payload: TrackerPayload, source: Source, *, profile_less: bool
    ) -> TrackResult:
        """Async storage: log the payload durably, answer with its fixed ids."""
        ingest = self.services.ingest
        ingest.admit()
        await self.tracker.refuse_invalid(payload, ["body"])
        return await ingest.accept(
            payload, request_info(request), source, profile_less=profile_less
        )

    async def track_many(
        self,
        request: Request,
        payloads: list[TrackerPayload],
        sources: list[Source],
        *,
        profile_less: bool,
    ) -> list[TrackResult]:
        """A batch: every payload checked against `reject` event types first, so a
        rejected one never leaves the ones before it half-stored."""
        for index, payload in enumerate(payloads):
            await self.tracker.refuse_invalid(payload, ["body", index])
        info = request_info(request)
        logged = [
            is_async(payload, source) for payload, source in zip(payloads, sources, strict=True)
        ]
        if any(logged):
            self.services.ingest.admit()
        items = [(p, s) for p, s, a in zip(payloads, sources, logged, strict=True) if not a]
        tracked = iter(await self.tracker.track_many(items, info, profile_less=profile_less))
        results = []
        for payload, source, later in zip(payloads, sources, logged, strict=True):
            if later:
                accepted = await self.services.ingest.accept(
                    payload, info, source, profile_less=profile_less
                )
                results.append(accepted)
            else:
                results.append(next(tracked))
        return results

    async def track_people(
        self,
        request: Request,
        call: Call,
        units: list[tuple[TrackerPayload, ExternalIdentity]],
        source: Source,
    ) -> list[TrackResult]:
        """Payloads of people known by another system's ids (the Segment API), each a
        unit of work, concurrent across unrelated people, in order within each one;
        checked against `reject` event types first, like a batch."""
        for index, (payload, _) in enumerate(units):
            await self.tracker.refuse_invalid(payload, ["body", index])
        return await self.tracker.track_many(
            [(payload, source) for payload, _ in units],
            request_info(request),
            profile_less=False,
            people=[person for _, person in units],
            bridge=call.bridge,
        )
