"""`GET /metrics`, and the timing of every HTTP request it reports.

The collector routes record themselves (`Collector.answer` measures each request
already); the admin API is timed by `RequestTiming`, a bare ASGI middleware that
reads the status from the response start and the template from the matched
route. Label values are route templates and a bounded set of methods, never
paths: a path per profile id would be a time series per profile."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kith.api.auth import services_of
from kith.domain.errors import NotAuthenticated
from kith.metrics import CONTENT_TYPE, MetricsRegistry

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
"""The route label of requests no route matched (404s of scanners and typos)."""

_bearer = HTTPBearer(auto_error=False, description="An API key of any role")


class RequestMetrics:
    """Requests and their latency by route template, method and status: one histogram,
    whose `_count` is the number of requests. Children are cached per label set, so a
    request costs one dictionary lookup and one observation."""

    def __init__(self, metrics: MetricsRegistry) -> None:
        self._histogram = metrics.histogram(
            "kith_http_request_duration_seconds",
            "Time from the request to its answer, by route template, method and status.",
            ["route", "method", "status"],
            LATENCY_BUCKETS,
        )
        self._children: dict[tuple[str, str, int], Any] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        child = self._children.get(key)
        if child is None:
            method = method if method in METHODS else "other"
            child = self._histogram.labels(route, method, str(status))
            self._children[key] = child
        child.observe(seconds)


class RequestTiming:
    """Times every admin API request (collector requests never reach FastAPI's stack)."""

    def __init__(self, app: ASGIApp, requests: RequestMetrics) -> None:
        self.app = app
        self.requests = requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers if the app fails before it starts one

        async def timed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            elapsed = time.perf_counter() - started
            self.requests.observe(admin_template(scope), scope["method"], status, elapsed)


def admin_template(scope: Scope) -> str:
    """The full template of the admin route that matched (`/api/sources/{source_id}`).

    FastAPI keeps an included router's routes with their own paths (`/sources/...`),
    so the router's prefix is taken from the front of the request path: as many
    segments as the path has beyond the route's own. Prefixes are fixed text, so
    this is the same few values whatever the ids in the path."""
    relative = getattr(scope.get("route"), "path", None)
    if not isinstance(relative, str):
        return UNMATCHED
    segments = scope["path"].split("/")
    prefix = "/".join(segments[: max(1, len(segments) - relative.count("/"))])
    return prefix + relative


async def scrape_access(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
) -> None:
    """A key of any role, unless `KITH_METRICS_PUBLIC` opens the metrics to all."""
    services = services_of(request)
    if services.settings.metrics_public:
        return
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated("Send an API key as `Authorization: Bearer <key>`")
    if await services.keys.authenticate(credentials.credentials) is None:
        raise NotAuthenticated("Invalid API key")


def metrics_router() -> APIRouter:
    router = APIRouter(tags=["metrics"])

    # not in the OpenAPI document: Prometheus text for scrapers, not an API a client
    # would be generated for (docs/metrics.md describes it)
    @router.get(
        "/metrics",
        response_class=Response,
        dependencies=[Depends(scrape_access)],
        include_in_schema=False,
    )
    async def metrics(request: Request) -> Response:
        """Requests, events stored, the writer, merges, flows, segments, the feed and jobs
        of this process, or of every worker of `kith serve --workers N` (docs/metrics.md)."""
        body = await services_of(request).metrics.exposition()
        return Response(body, media_type=CONTENT_TYPE)

    return router
