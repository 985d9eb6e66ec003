"""Renders Kith's error hierarchy as `{"detail": ...}` with the class's status code.

Errors that ask the client to come back later (503 Overloaded, 429 RateLimited)
carry `Retry-After`, so well-behaved senders (and the tracardi-js retry logic)
back off instead of hammering a collector that is already refusing work."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from kith.domain.errors import KithError, Overloaded, RateLimited

log = logging.getLogger(__name__)


def error_headers(exc: KithError) -> dict[str, str] | None:
    if isinstance(exc, RateLimited):
        return {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, Overloaded):
        return {"Retry-After": "1"}
    return None


def error_response(exc: KithError) -> Response:
    return JSONResponse(
        {"detail": exc.detail}, status_code=exc.status_code, headers=error_headers(exc)
    )


async def handle_kith_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, KithError)
    if exc.status_code >= 500:
        # the route's template, not the path: ids in a path may be personal data
        route = getattr(request.scope.get("route"), "path", "?")
        log.warning("%s on %s %s", type(exc).__name__, request.method, route)
    return error_response(exc)
