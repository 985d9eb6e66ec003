"""Async flows: run after the commit, from the committed-event feed.

For each committed event, the async flows its rules start (and every flow a
`segment-entered`/`segment-left` event starts) run under the profile lock on
the profile as it is now; what they change is saved in their own unit of work
(with merges, see `tracking.updates`). Events of one profile run one after
another in feed order; different profiles run at the same time, up to
`concurrency`, so a slow remote call holds up only its own profile. At least
once: a crash before the batch is acknowledged runs its flows again."""

from __future__ import annotations

import asyncio
from typing import Any

from kith.domain.clock import utcnow
from kith.domain.document import Document
from kith.domain.ids import new_id
from kith.storage.ports import FeedEntry, Storage
from kith.tracking.updates import Change, ProfileUpdates
from kith.workflows.catalog import FlowCatalog
from kith.workflows.engine import execute
from kith.workflows.graph import CompiledFlow
from kith.workflows.rules import Rule
from kith.workflows.run import FlowRun
from kith.workflows.runs import FlowRunLog
from kith.workflows.services import NodeServices

Work = list[tuple[Rule, CompiledFlow]]


class AsyncFlows:
    name = "async-flows"

    def __init__(
        self,
        storage: Storage,
        catalog: FlowCatalog,
        updates: ProfileUpdates,
        services: NodeServices,
        runs: FlowRunLog,
        *,
        concurrency: int = 64,
    ) -> None:
        self._storage = storage
        self._catalog = catalog
        self._updates = updates
        self._services = services
        self._runs = runs
        self._concurrency = concurrency

    async def idle(self) -> bool:
        """No committed event could start a flow (only sync rules of ordinary event
        types, or none): the events in between are skipped, not read."""
        return not (await self._catalog.book()).acts_after_commit

    async def handle(self, entries: list[FeedEntry]) -> None:
        book = await self._catalog.book()
        if not book:
            return
        groups: dict[str | None, list[tuple[Document, Work]]] = {}
        for entry in entries:
            work = book.after_commit(entry.event)
            if work:
                profile = (entry.event.get("profile") or {}).get("id")
                groups.setdefault(profile, []).append((entry.event, work))
        if not groups:
            return
        slots = asyncio.Semaphore(self._concurrency)

        async def one_profile(profile_id: str | None, items: list[tuple[Document, Work]]) -> None:
            async with slots:
                for event, work in items:
                    await self._run_event(profile_id, event, work)

        await asyncio.gather(*(one_profile(pid, items) for pid, items in groups.items()))

    async def _run_event(self, profile_id: str | None, event: Document, work: Work) -> None:
        session_id = (event.get("session") or {}).get("id")
        if profile_id is None:  # a profile-less event: nothing to lock or save
            session = await self._storage.tracking.get_session(session_id) if session_id else None
            await self._run_flows(event, None, session, work)
            return

        async def change(profile: Document, session: Document | None) -> Change:
            return await self._run_flows(event, profile, session, work)

        await self._updates.update(profile_id, change, session_id=session_id)

    async def _run_flows(
        self, event: Document, profile: Document | None, session: Document | None, work: Work
    ) -> Change:
        now = utcnow()
        done = Change()
        for rule, flow in work:
            scope: dict[str, Any] = {"event": event}
            if profile is not None:
                scope["profile"] = profile
            if session is not None:
                scope["session"] = session
            if not rule.accepts(scope, now):
                continue
            run = FlowRun(
                flow_id=flow.id,
                version=flow.version,
                run_id=new_id(),
                event=event,
                profile=profile,
                session=session,
                now=now,
                services=self._services,
            )
            await execute(flow, run, event)
            done.profile = done.profile or run.profile_changed
            done.session = done.session or run.session_changed
            self._runs.record(run, rule.id)
        return done
