"""The admin API: one router per resource, mounted under /api.

Every route here checks an API key, so 401 and 403 are declared once for all of
them; each route declares the other statuses it may answer (`responses`)."""

from __future__ import annotations

from fastapi import APIRouter

from kith.api.admin import (
    conditions,
    consents,
    event_types,
    events,
    flows,
    identity,
    jobs,
    keys,
    profiles,
    redirects,
    rules,
    segments,
    sessions,
    sources,
)
from kith.api.admin.responses import responses


def admin_router() -> APIRouter:
    router = APIRouter(prefix="/api", responses=responses(401, 403))
    router.include_router(keys.router)
    router.include_router(sources.router)
    router.include_router(profiles.router)
    router.include_router(sessions.router)
    router.include_router(events.router)
    router.include_router(event_types.router)
    router.include_router(identity.router)
    router.include_router(consents.router)
    router.include_router(jobs.router)
    router.include_router(conditions.router)
    router.include_router(rules.router)
    router.include_router(flows.router)
    router.include_router(segments.router)
    router.include_router(redirects.router)
    return router
