"""Rules and flows as the admin API sees them: drafts, deploys, versions, debug runs.

A flow is one configuration document (kind `flow`): its draft at the top, the
graph of its live version under `deployed`. `PUT` checks and saves the draft
(version + 1); `deploy` copies the draft into `deployed` and keeps a copy of
every deployed version (kind `flow-version`). Rules run deployed versions only."""

from __future__ import annotations

import copy

from kith.conditions import condition_problem
from kith.config_documents import ConfigDocuments
from kith.domain.clock import iso, utcnow
from kith.domain.document import Document
from kith.domain.errors import InvalidPayload, NotFound
from kith.domain.ids import new_id
from kith.domain.profile import new_profile
from kith.storage.ports import Storage
from kith.workflows.catalog import FlowCatalog
from kith.workflows.engine import execute
from kith.workflows.graph import FlowInvalid, compile_flow
from kith.workflows.registry import NodeRegistry
from kith.workflows.run import FlowRun
from kith.workflows.runs import FlowRunLog
from kith.workflows.services import NodeServices

GRAPH_FIELDS = ("name", "description", "mode", "nodes", "edges")


def _invalid(problems: list[tuple[tuple[str | int, ...], str]]) -> InvalidPayload:
    return InvalidPayload(
        [{"loc": ["body", *loc], "msg": msg, "type": "flow_invalid"} for loc, msg in problems]
    )


REDACTED = "***"


def _secret_fields(registry: NodeRegistry, node: Document) -> list[str]:
    cls = registry.get(str(node.get("type")))
    return cls.secret_fields() if cls is not None else []


def redact(document: Document, registry: NodeRegistry) -> Document:
    """The flow with its nodes' secret config values (SMTP passwords, webhook URLs)
    shown as `***`: they are write-only, like destination secrets."""
    nodes = []
    for node in document.get("nodes") or []:
        secret = [
            name for name in _secret_fields(registry, node) if (node.get("config") or {}).get(name)
        ]
        if secret:
            node = {**node, "config": {**node["config"], **dict.fromkeys(secret, REDACTED)}}
        nodes.append(node)
    return {**document, "nodes": nodes}


def keep_secrets(graph: Document, before: Document, registry: NodeRegistry) -> Document:
    """A PUT of what GET answered: a secret sent back as `***` keeps its stored value."""
    stored = {node.get("id"): node for node in before.get("nodes") or []}
    nodes = []
    for node in graph.get("nodes") or []:
        config = dict(node.get("config") or {})
        for name in _secret_fields(registry, node):
            if config.get(name) == REDACTED:
                config[name] = ((stored.get(node.get("id")) or {}).get("config") or {}).get(name)
        nodes.append({**node, "config": config})
    return {**graph, "nodes": nodes}


def flow_view(document: Document) -> Document:
    """A flow as `GET` answers it: the draft, its version and the deployed version."""
    view = {key: value for key, value in document.items() if key != "deployed"}
    deployed = document.get("deployed")
    view["deployed_version"] = deployed.get("version") if deployed else None
    return view


class FlowService:
    def __init__(
        self,
        storage: Storage,
        rules: ConfigDocuments,
        flows: ConfigDocuments,
        versions: ConfigDocuments,
        catalog: FlowCatalog,
        node_services: NodeServices,
        runs: FlowRunLog,
    ) -> None:
        self._storage = storage
        self._rules = rules
        self._flows = flows
        self._versions = versions
        self._catalog = catalog
        self._node_services = node_services
        self._runs = runs

    # rules -----------------------------------------------------------------------------
    async def rules(self) -> list[Document]:
        return [doc for _, doc in sorted((await self._rules.all()).items())]

    async def rule(self, rule_id: str) -> Document:
        found = (await self._rules.all()).get(rule_id)
        if found is None:
            raise NotFound(f"Rule {rule_id!r} not found")
        return found

    async def put_rule(self, rule_id: str, rule: Document) -> Document:
        problem = condition_problem(rule["condition"]) if rule.get("condition") else None
        if problem is not None:
            raise InvalidPayload.at(["body", "condition"], problem, "condition_syntax")
        if rule["flow"] not in await self._flows.all():
            raise InvalidPayload.at(["body", "flow"], f"No flow {rule['flow']!r}", "not_found")
        document = {**rule, "id": rule_id}
        await self._rules.put(rule_id, document)
        return document

    async def delete_rule(self, rule_id: str) -> None:
        if not await self._rules.delete(rule_id):
            raise NotFound(f"Rule {rule_id!r} not found")

    # flows -----------------------------------------------------------------------------
    def _view(self, document: Document) -> Document:
        return redact(flow_view(document), self._catalog.registry)

    async def flows(self) -> list[Document]:
        return [self._view(doc) for _, doc in sorted((await self._flows.all()).items())]

    async def _flow(self, flow_id: str) -> Document:
        found = (await self._flows.all()).get(flow_id)
        if found is None:
            raise NotFound(f"Flow {flow_id!r} not found")
        return found

    async def flow(self, flow_id: str) -> Document:
        return self._view(await self._flow(flow_id))

    async def put_flow(self, flow_id: str, graph: Document) -> Document:
        """Check and save the draft (422 naming the node on any problem)."""
        before = (await self._flows.all()).get(flow_id) or {}
        graph = keep_secrets(graph, before, self._catalog.registry)
        try:
            compile_flow({**graph, "id": flow_id}, self._catalog.registry)
        except FlowInvalid as error:
            raise _invalid(error.problems) from None
        document: Document = {key: graph.get(key) for key in GRAPH_FIELDS}
        document.update(
            id=flow_id,
            version=int(before.get("version") or 0) + 1,
            updated=iso(utcnow()),
            deployed=before.get("deployed"),
        )
        await self._flows.put(flow_id, document)
        return self._view(document)

    async def deploy(self, flow_id: str) -> Document:
        document = await self._flow(flow_id)
        graph = {key: document.get(key) for key in GRAPH_FIELDS}
        version = int(document["version"])
        deployed = {**graph, "version": version, "deployed_at": iso(utcnow())}
        await self._versions.put(f"{flow_id}:{version}", {**deployed, "flow": flow_id})
        document = {**document, "deployed": deployed}
        await self._flows.put(flow_id, document)
        return self._view(document)

    async def delete_flow(self, flow_id: str) -> None:
        if not await self._flows.delete(flow_id):
            raise NotFound(f"Flow {flow_id!r} not found")

    async def versions(self, flow_id: str) -> list[Document]:
        await self._flow(flow_id)
        found = [
            redact(doc, self._catalog.registry)
            for doc in (await self._versions.all()).values()
            if doc.get("flow") == flow_id
        ]
        return sorted(found, key=lambda doc: -int(doc.get("version") or 0))

    def nodes(self) -> list[Document]:
        return self._catalog.registry.describe()

    async def runs(self, flow_id: str) -> list[Document]:
        await self._flow(flow_id)
        return self._runs.recent(flow_id)

    async def debug(
        self,
        flow_id: str,
        event: Document | None,
        profile: Document | None,
        session: Document | None,
        event_id: str | None,
    ) -> Document:
        """Run the draft on copies of the given documents; store nothing."""
        document = await self._flow(flow_id)
        try:
            flow = compile_flow(document, self._catalog.registry, version=document.get("version"))
        except FlowInvalid as error:
            raise _invalid(error.problems) from None
        if event is None:
            event = await self._stored_event(event_id)
            if profile is None and (event.get("profile") or {}).get("id"):
                profile = await self._storage.tracking.get_profile(event["profile"]["id"])
            if session is None and (event.get("session") or {}).get("id"):
                session = await self._storage.tracking.get_session(event["session"]["id"])
        now = utcnow()
        if profile is None:
            profile = new_profile(str((event.get("profile") or {}).get("id") or new_id()), iso(now))
        run = FlowRun(
            flow_id=flow_id,
            version=flow.version,
            run_id=new_id(),
            event=copy.deepcopy(event),
            profile=copy.deepcopy(profile),
            session=copy.deepcopy(session),
            now=now,
            services=self._node_services,
            debug=True,
        )
        await execute(flow, run, run.event)
        return {
            "trace": [entry.document() for entry in run.trace],
            "profile": run.profile,
            "session": run.session,
            "memory": run.memory,
            "ux": run.ux,
            "response": run.response,
            "errors": run.errors,
        }

    async def _stored_event(self, event_id: str | None) -> Document:
        if not event_id:
            raise InvalidPayload.at(["body", "event"], "Give `event` or `event_id`", "missing")
        event = await self._storage.data.get_event(event_id)
        if event is None:
            raise NotFound(f"Event {event_id!r} not found")
        return event
