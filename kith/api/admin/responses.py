"""The error answers of the admin API, declared for its OpenAPI document.

`kith/api/errors.py` renders every error in one of two bodies (`ErrorBody`,
`ValidationErrorBody`); this module says which status means what, so a route declares what
it may answer with `responses=responses(404, 422)` and a client generated from
`/openapi.json` knows every status it will meet and the body that comes with it.
The statuses every `/api` route shares (401, 403) are declared once, on the
router that mounts them (`kith.api.admin.admin_router`)."""

from __future__ import annotations

from typing import Any

from kith.api.errors import ErrorBody, ValidationErrorBody

RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}

ERRORS: dict[int, dict[str, Any]] = {
    401: {"description": "No API key, or not a valid one (`Authorization: Bearer <key>`)."},
    403: {"description": "The key's role may not do this."},
    404: {"description": "No such thing."},
    409: {"description": "It already exists."},
    413: {"description": "The body is larger than the admin body limit."},
    422: {
        "description": "The request breaks the schema; `detail` locates every problem.",
        "model": ValidationErrorBody,
    },
    429: {"description": "Too many requests; retry after `Retry-After`.", "headers": RETRY_AFTER},
    503: {
        "description": "Kith is refusing work for a moment (its writer is backed up); "
        "retry after `Retry-After`.",
        "headers": RETRY_AFTER,
    },
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """FastAPI `responses=` for these error statuses, each with the body Kith sends."""
    declared: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        if status not in ERRORS:
            raise ValueError(f"Kith answers no error {status}; known: {sorted(ERRORS)}")
        declared[status] = {"model": ErrorBody, **ERRORS[status]}
    return declared
