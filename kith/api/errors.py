"""Renders Kith's error hierarchy as `{"detail": ...}` with the class's status code."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from kith.domain.errors import KithError, Overloaded

log = logging.getLogger(__name__)


def error_response(exc: KithError) -> Response:
    headers = {"Retry-After": "1"} if isinstance(exc, Overloaded) else None
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


async def handle_kith_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, KithError)
    if exc.status_code >= 500:
        log.warning("%s on %s %s", type(exc).__name__, request.method, request.url.path)
    return error_response(exc)
