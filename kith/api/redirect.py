"""`GET /redirect/{id}`: a tracked link. Stores the redirect's event and answers 302.

The session (and so the profile) comes from the tracker's cookie
`tracardi-session-id` when the browser sends it (Kith on the site's own domain),
else the click starts a new session and profile. The browser is sent on even if
the event cannot be stored (a disabled source, an overloaded writer): a link
must keep working."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kith.api.collector import Call, Collector
from kith.domain.errors import KithError
from kith.domain.payload import EventPayload, Ref, SourceRef, TrackerPayload, normalise

SESSION_COOKIE = "tracardi-session-id"
log = logging.getLogger(__name__)


async def follow(collector: Collector, request: Request, call: Call) -> Response:
    redirect_id = request.path_params["redirect_id"]
    redirect = await collector.services.redirects.get(redirect_id)  # 404 when unknown
    session = request.cookies.get(SESSION_COOKIE)
    payload = TrackerPayload(
        source=SourceRef(str(redirect["source"])),
        session=Ref(session) if session else None,
        events=[
            EventPayload(
                type=str(redirect.get("event_type") or "redirect"),
                properties={**(redirect.get("properties") or {}), "url": redirect["url"],
                            "redirect": redirect_id},
                context={"page": {"referer": request.headers.get("referer")}},
            )
        ],
    )  # fmt: skip
    try:
        normalise(payload, collector.limits, ["path"])
        collector.admit()
        (source,) = await collector.sources(call, [payload.source.id])
        await collector.track(request, call, payload, source, profile_less=False)
    except KithError as error:
        log.warning("redirect %s not tracked: %s", redirect_id, type(error).__name__)
    return RedirectResponse(str(redirect["url"]), status_code=302)
