"""Renders Kith's error hierarchy as `{"detail": ...}` with the class's status code.

Errors that ask the client to come back later (503 Overloaded, 429 RateLimited)
carry `Retry-After`, so well-behaved senders (and the tracardi-js retry logic)
back off instead of hammering a collector that is already refusing work.

FastAPI's own validation errors (query, path, body) are rendered here too, in the
collector's shape: the OpenAPI document promises one 422 body, and the rejected
input is not echoed back (it may be a key or personal data). So are the router's
own refusals (404 unknown path, 405 wrong method)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from kith.domain.errors import InvalidPayload, KithError, Overloaded, RateLimited

log = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    """Every error but a validation error: `{"detail": "<why>"}`."""

    detail: str = Field(description="Why the request was refused, for a person to read.")


class ValidationIssue(BaseModel):
    """One thing wrong with a request."""

    loc: list[str | int] = Field(
        description="Where: `body`, `query`, `path` or `header`, then the path within it."
    )
    msg: str = Field(description="What is wrong, for a person to read.")
    type: str = Field(description="A stable name of the kind of problem, e.g. `missing`.")


class ValidationErrorBody(BaseModel):
    """A request that breaks the schema (422): every problem found, each located."""

    detail: list[ValidationIssue]


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


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    """FastAPI's 422 as `{"detail": [{"loc", "msg", "type"}]}`, like every other 422."""
    assert isinstance(exc, RequestValidationError)
    issues = [
        {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]}
        for error in exc.errors()
    ]
    return error_response(InvalidPayload(issues))


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(routes: Iterable[BaseRoute], scope: Scope) -> list[str]:
    """Every method some route serves at this path.

    Starlette answers a wrong method with the `Allow` of the first route whose
    path matches, but Kith has one route per method (`GET` and `PUT` of one
    source are two handlers), so that header would name only one of them.
    Asking each route about each method keeps to the routes' public `matches`
    (FastAPI nests included routers, which have no `methods` of their own)."""
    routes = list(routes)
    return [
        method
        for method in _METHODS
        if any(route.matches({**scope, "method": method})[0] is Match.FULL for route in routes)
    ]


def refusal(exc: HTTPException, routes: Iterable[BaseRoute], scope: Scope) -> Response:
    """The router's own 404 or 405 as `{"detail": ...}`; a 405 with every allowed method."""
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(routes, scope))
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


async def handle_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400:
        # FastAPI's answer to a body it cannot even decode (not UTF-8): malformed
        # JSON, which is a 422 everywhere else in Kith (the collector included)
        malformed = InvalidPayload.at(["body"], f"Malformed JSON: {exc.detail}", "json_invalid")
        return error_response(malformed)
    return refusal(exc, request.app.router.routes, request.scope)
