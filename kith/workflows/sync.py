"""Sync flows: run inside the collector request, in the same unit of work.

For every event of the request that is stored (or profile-less), system events
included, the rules of its type run their deployed sync flows in rule-id order;
each flow run changes the request's own profile and session documents, so the
next run sees the change and the unit of work commits them all with the
events. `ux`, `response` and errors go into the answer; a failed flow never
loses the events."""

from __future__ import annotations

from kith.domain.clock import parse_iso
from kith.domain.ids import new_id
from kith.tracking.plan import Visit
from kith.workflows.catalog import FlowCatalog
from kith.workflows.engine import execute
from kith.workflows.run import FlowRun
from kith.workflows.runs import FlowRunLog
from kith.workflows.services import NodeServices


class SyncFlows:
    def __init__(self, catalog: FlowCatalog, services: NodeServices, runs: FlowRunLog) -> None:
        self._catalog = catalog
        self._services = services
        self._runs = runs

    async def repeatable(self) -> bool:
        """Whether a visit may be built, thrown away and built again (a batch's group
        does that to a payload that claims identity keys): not while sync flows are
        deployed, since their nodes may call other systems."""
        return not (await self._catalog.book()).has_sync

    async def after_events(self, visit: Visit) -> None:
        if not (visit.stores_events or visit.profile_less):
            return
        book = await self._catalog.book()
        if not book:
            return
        now = None
        for _, record in list(visit.records):
            pairs = book.sync(record)
            if not pairs:
                continue
            now = now or parse_iso(visit.now)
            for rule, flow in pairs:
                scope = {"event": record}
                if visit.profile is not None:
                    scope["profile"] = visit.profile
                if visit.session is not None:
                    scope["session"] = visit.session
                if not rule.accepts(scope, now):
                    continue
                run = FlowRun(
                    flow_id=flow.id,
                    version=flow.version,
                    run_id=new_id(),
                    event=record,
                    profile=visit.profile,
                    session=visit.session,
                    now=now,
                    services=self._services,
                )
                await execute(flow, run, record)
                visit.result.ux.extend(run.ux)
                visit.result.answer.update(run.response)
                visit.result.errors.extend(run.errors)
                self._runs.record(run, rule.id)
