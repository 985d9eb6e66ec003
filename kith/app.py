"""The composition root: `build_app(settings)` builds storage, services and the app.

Nothing happens at import time; tests call `build_app(test_settings)`."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router
from starlette.types import Receive, Scope, Send

from kith.api.admin import admin_router
from kith.api.collect import collector_routes
from kith.api.collector import Collector, json_response
from kith.api.collector_openapi import describe_collector
from kith.api.errors import (
    error_response,
    handle_http_error,
    handle_kith_error,
    handle_validation_error,
    refusal,
)
from kith.api.metrics import RequestMetrics, RequestTiming, metrics_router
from kith.api.segment import segment_routes
from kith.api.tracker_assets import tracker_routes
from kith.config import Settings
from kith.domain.errors import KithError, PayloadTooLarge
from kith.services import Services, build_services
from kith.tracking.ingest import ingest_lag


def kith_version() -> str:
    try:
        return version("kith")
    except PackageNotFoundError:  # running from a source tree without install
        return "0.0.0+local"


COLLECTOR_PATHS = ("/track", "/collect", "/healthz", "/redirect", "/v1/", "/beacon/", "/pixel/")
"""Paths the bare collector router answers (`/track` covers `/tracker/...` too; the
last three are the Segment-compatible API)."""


class KithApp(FastAPI):
    """FastAPI for the admin API, with the collector routes in front of it.

    Collector requests go straight to a bare Starlette router and skip
    FastAPI's middleware stack (error telemetry, body limits, exit stacks),
    which on this hot path costs as much as the handler itself."""

    collector: Router
    max_admin_body: int = 4 * 1024 * 1024

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(COLLECTOR_PATHS):
            scope["app"] = self
            try:
                await self.collector(scope, receive, send)
            except HTTPException as exc:
                # the router's own 404 (unknown path) and 405 (wrong method, with
                # `Allow`): raised before any response was started
                refused = refusal(exc, self.collector.routes, scope)
                await refused(scope, receive, send)
            return
        if scope["type"] == "http" and self._too_large(scope):
            # refused before FastAPI reads it: FastAPI would buffer any body in
            # memory before the route's key check could answer 401
            response = error_response(
                PayloadTooLarge(f"Body larger than {self.max_admin_body} bytes")
            )
            await response(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def openapi(self) -> dict[str, Any]:
        """FastAPI's document of the admin API, with the collector routes described too."""
        if self.openapi_schema is not None:
            return self.openapi_schema
        document = super().openapi()  # kept by FastAPI as `openapi_schema`
        collector: Collector = self.state.collector
        describe_collector(
            document,
            collector.limits,
            max_batch=collector.settings.max_batch_payloads,
            max_body=collector.settings.max_body_bytes,
        )
        return document

    def _too_large(self, scope: Scope) -> bool:
        """A declared body over the limit, or a streamed (chunked) one on a write.

        Admin clients send small JSON with a Content-Length; bulk data goes
        through the collector or `kith import`, never through this API."""
        length = _declared_length(scope)
        if length is not None:
            return length > self.max_admin_body
        chunked = any(
            name == b"transfer-encoding" and b"chunked" in value.lower()
            for name, value in scope["headers"]
        )
        return chunked


def operation_id(route: APIRoute) -> str:
    """The handler's name (`list_sources`): what a generated client calls the method."""
    return route.name


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def build_app(settings: Settings, services: Services | None = None) -> KithApp:
    services = services or build_services(settings)
    release = kith_version()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await services.start()
        if settings.background_work:
            services.start_background()
        try:
            yield
        finally:
            await services.stop_background()
            await services.close()

    app = KithApp(
        title="Kith",
        version=release,
        description="Open-source Customer Data Platform. Admin API; the collector "
        "(`/track`, `/collect`) speaks the Tracardi tracker payload protocol.",
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
    )
    app.state.services = services
    requests = RequestMetrics(services.metrics) if settings.metrics else None
    app.state.collector = Collector(services, requests.observe if requests else None)
    app.max_admin_body = settings.max_admin_body_bytes
    app.add_exception_handler(KithError, handle_kith_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(HTTPException, handle_http_error)
    if settings.admin_origin_list:
        # the admin side only: collector paths never reach FastAPI's middleware
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.admin_origin_list),
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )

    async def healthz(request: Request) -> Response:
        """`ok`, or `degraded` with a reason while the writer is backed up.

        Degraded still answers 200: the process is alive and serving; a load
        balancer that should shed traffic can match on the status field."""
        body: dict[str, object] = {
            "status": "ok",
            "storage": services.storage.kind,
            "version": release,
        }
        waiting, lag = await ingest_lag(services.storage) if services.ingest.backlog else (0, 0.0)
        services.ingest.backlog = waiting
        body["ingest"] = {
            "backlog": waiting,
            "lag_seconds": round(lag, 3),
            "accepted": services.ingest.accepted,
            "processed": services.ingest_processor.processed,
        }
        queued = services.storage.writer_stats().queued
        if queued > settings.degraded_queue_depth:
            body["status"] = "degraded"
            body["reason"] = (
                f"writer queue backed up: {queued} units waiting "
                f"(degraded above {settings.degraded_queue_depth}, "
                f"refusing above {settings.writer_max_queue})"
            )
        return json_response(body)

    app.collector = Router(
        [
            Route("/healthz", healthz, methods=["GET"]),
            *collector_routes(),
            *segment_routes(),
            *tracker_routes(),
        ]
    )
    app.include_router(admin_router())
    if requests is not None:
        app.add_middleware(RequestTiming, requests=requests)
        app.include_router(metrics_router())
    return app


def tune_garbage_collector() -> None:
    """Collect cycles rarely: a request allocates thousands of short-lived objects,
    almost none in cycles, and with the default threshold (700 allocations) the
    collector ran every few requests and cost 15-30% of a request (measured with
    the in-process collector benchmark). Objects alive at start-up are frozen out
    of collections altogether."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)


def app_from_environment() -> KithApp:
    """The app of one worker process of `kith serve --workers N` (settings from KITH_*;
    `kith serve` has set `KITH_METRICS_DIR` to this start's directory of metric files)."""
    tune_garbage_collector()
    settings = Settings.model_validate({})
    metrics_dir = settings.metrics_dir if settings.metrics else None
    return build_app(settings, build_services(settings, metrics_dir=metrics_dir))
