"""The collector pipeline: one tracker payload in, one committed unit of work out.

Order matters: session lock, then resolve, then profile lock, then load; the
unit is committed before the locks are released, so the next request for the
same visitor or person sees this one's result."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from kith.domain.clock import iso, utcnow
from kith.domain.errors import BotRejected, UnknownSource
from kith.domain.event import (
    SYSTEM_PROFILE_CREATED,
    SYSTEM_SESSION_OPENED,
    SYSTEM_VISIT_STARTED,
    build_event,
    visible_headers,
)
from kith.domain.ids import new_id
from kith.domain.payload import EventPayload, TrackerPayload
from kith.domain.profile import count_visit, new_profile, touch
from kith.domain.session import bind, merge_into, new_session
from kith.domain.source import INTERNAL_SOURCE_ID, Bridge, Source
from kith.sources import SourceRegistry
from kith.storage.ports import Document, Storage, VisitUnit
from kith.tracking.enrichment import RequestInfo, SessionEnrichment
from kith.tracking.resolve import choose_profile
from kith.tracking.useragent import parse_user_agent


@dataclass(slots=True)
class TrackResult:
    profile_id: str | None
    session_id: str | None
    event_ids: list[str]
    errors: list[Any] = field(default_factory=list)
    warnings: list[Any] = field(default_factory=list)

    def response(self) -> Document:
        return {
            "task": new_id(),
            "profile": {"id": self.profile_id},
            "session": {"id": self.session_id},
            "events": self.event_ids,
            "ux": [],
            "response": {},
            "errors": self.errors,
            "warnings": self.warnings,
        }


def _page_url(page: Any) -> str | None:
    url = page.get("url") if isinstance(page, dict) else None
    return url if isinstance(url, str) else None


def _timezone(context: dict[str, Any]) -> str | None:
    time = context.get("time")
    tz = time.get("tz") if isinstance(time, dict) else None
    return tz if isinstance(tz, str) else None


class Tracker:
    def __init__(
        self,
        storage: Storage,
        sources: SourceRegistry,
        enrichment: SessionEnrichment,
        *,
        reject_bots: bool,
    ) -> None:
        self._storage = storage
        self._sources = sources
        self._enrichment = enrichment
        self._reject_bots = reject_bots

    async def source_for(self, source_id: str, bridge: Bridge) -> Source:
        source = await self._sources.cached(source_id)
        if source is None or not source.accepts(bridge):
            raise UnknownSource(f"Unknown or disabled source {source_id!r} for bridge {bridge!r}")
        return source

    async def track(
        self,
        payload: TrackerPayload,
        info: RequestInfo,
        *,
        bridge: Bridge = "rest",
        profile_less: bool = False,
        source: Source | None = None,
    ) -> TrackResult:
        if source is None:
            source = await self.source_for(payload.source.id, bridge)
        user_agent = parse_user_agent(self._enrichment.user_agent_of(payload.context, info))
        if self._reject_bots and user_agent.is_bot:
            raise BotRejected("Bots are not accepted")
        given_session = payload.session.id if payload.session else None
        async with AsyncExitStack() as locks:
            if given_session is not None:
                await locks.enter_async_context(self._storage.locks.hold("session", given_session))
            session = await self._storage.get_session(given_session) if given_session else None
            profile_id: str | None = None
            minted = False
            if not profile_less:
                given_profile = payload.profile.id if payload.profile else None
                choice = await choose_profile(self._storage, session, given_profile, source)
                profile_id, minted = choice.id, choice.minted
                if not minted:
                    await locks.enter_async_context(self._storage.locks.hold("profile", profile_id))
            return await self._locked(
                payload,
                info,
                source,
                given_session or new_id(),
                session,
                profile_id,
                profile_less=profile_less,
                minted=minted,
            )

    async def _locked(
        self,
        payload: TrackerPayload,
        info: RequestInfo,
        source: Source,
        session_id: str,
        session: Document | None,
        profile_id: str | None,
        *,
        profile_less: bool,
        minted: bool,
    ) -> TrackResult:
        now = iso(utcnow())
        save_session = payload.option("saveSession")
        save_events = payload.option("saveEvents")
        save_profile = payload.option("saveProfile") and not profile_less
        system: list[tuple[str, dict[str, Any]]] = []
        unit = VisitUnit()

        profile: Document | None = None
        if profile_id is not None:
            profile = None if minted else await self._storage.get_profile(profile_id)
            if profile is None:
                profile = new_profile(profile_id, now)
                unit.identities.append(("id", profile_id, profile_id))
                if save_profile:
                    system.append((SYSTEM_PROFILE_CREATED, {}))

        page = payload.events[0].context.get("page") if payload.events else None
        page = page if isinstance(page, dict) else payload.context.get("page")
        ip = self._enrichment.ip_of(info)
        if save_session:
            if session is None:
                session = new_session(session_id, profile_id, source.channel, now)
                self._enrichment.enrich(session, payload.context, _page_url(page), info, ip)
                system.append((SYSTEM_SESSION_OPENED, {}))
                if profile is not None and save_profile:
                    count_visit(profile, now, _timezone(payload.context))
                    system.append((SYSTEM_VISIT_STARTED, {}))
            else:
                session["metadata"]["time"]["update"] = now
                if profile_id is not None:
                    bind(session, profile_id)
            merge_into(session, payload.context, payload.properties)
            unit.session = session
        else:
            session = None

        event_ids, fresh = await self._event_ids(payload, save_events)
        if save_events:
            unit.events = _event_records(
                payload,
                source,
                session,
                profile_id,
                profile_less=profile_less,
                now=now,
                request={"headers": visible_headers(dict(info.headers)), "ip": ip},
                system=system,
                own=[(event_ids[index], payload.events[index]) for index in fresh],
            )
        if profile is not None and save_profile:
            touch(profile, now)
            unit.profile = profile
        else:
            unit.identities.clear()
        if not source.ephemeral and (unit.profile or unit.session or unit.events):
            await self._storage.commit_visit(unit)
        return TrackResult(
            profile_id=profile_id,
            session_id=session["id"] if session else None,
            event_ids=event_ids,
        )

    async def _event_ids(
        self, payload: TrackerPayload, save_events: bool
    ) -> tuple[list[str], list[int]]:
        """Every event's id (client ids kept), and the indexes of those not stored yet.

        A client id seen before, in the store or earlier in this payload, is an
        idempotent retry: it is answered but neither stored nor applied again."""
        ids = [event.id or new_id() for event in payload.events]
        client_ids = [event.id for event in payload.events if event.id]
        known = (
            await self._storage.existing_event_ids(client_ids)
            if client_ids and save_events
            else set()
        )
        fresh: list[int] = []
        for index, event_id in enumerate(ids):
            if event_id not in known:
                known.add(event_id)
                fresh.append(index)
        return ids, fresh


def _event_records(
    payload: TrackerPayload,
    source: Source,
    session: Document | None,
    profile_id: str | None,
    *,
    profile_less: bool,
    now: str,
    request: Document,
    system: list[tuple[str, dict[str, Any]]],
    own: list[tuple[str, EventPayload]],
) -> list[Document]:
    """The system events first, then the payload's own events not stored before."""
    common: dict[str, Any] = {
        "channel": source.channel,
        "now": now,
        "session": session,
        "profile_id": profile_id,
        "profile_less": profile_less,
        "request": request,
    }
    records = [
        build_event(
            event_id=new_id(),
            event_type=kind,
            source_id=INTERNAL_SOURCE_ID,
            created=None,
            properties=properties,
            context={},
            tags=[],
            page=None,
            **common,
        )
        for kind, properties in system
    ]
    for event_id, event in own:
        created = event.time.create if event.time and event.time.create else None
        records.append(
            build_event(
                event_id=event_id,
                event_type=event.type,
                source_id=source.id,
                created=iso(created) if created else None,
                properties=event.properties,
                context=event.context,
                tags=event.tags,
                page=event.context.get("page") or payload.context.get("page"),
                **common,
            )
        )
    return records
