"""The rules and deployed flows every process runs, rebuilt when configuration changes.

Rules are configuration documents of kind `rule`; flows of kind `flow`, each
holding its draft and, under `deployed`, the graph of its live version. Both
are cached like all configuration (a change made elsewhere arrives by NOTIFY on
PostgreSQL, or when the cache expires), and compiled only when they change."""

from __future__ import annotations

import logging

from kith.config_documents import ConfigDocuments
from kith.workflows.graph import CompiledFlow, FlowInvalid, compile_flow
from kith.workflows.registry import NodeRegistry
from kith.workflows.rules import Rule, RuleBook

log = logging.getLogger(__name__)
RULE_KIND = "rule"
FLOW_KIND = "flow"


class FlowCatalog:
    def __init__(
        self, rules: ConfigDocuments, flows: ConfigDocuments, registry: NodeRegistry
    ) -> None:
        self._rules = rules
        self._flows = flows
        self.registry = registry
        self._built: tuple[tuple[int, int], RuleBook] | None = None

    async def book(self) -> RuleBook:
        rule_docs = await self._rules.all()
        flow_docs = await self._flows.all()
        versions = (self._rules.version, self._flows.version)
        if self._built is not None and self._built[0] == versions:
            return self._built[1]
        flows: dict[str, CompiledFlow] = {}
        for flow_id, document in flow_docs.items():
            deployed = document.get("deployed")
            if not deployed:
                continue
            try:
                flows[flow_id] = compile_flow(
                    {**deployed, "id": flow_id}, self.registry, version=deployed.get("version")
                )
            except FlowInvalid as error:  # e.g. a plugin that provided a node is gone
                log.error("deployed flow %s cannot run: %s", flow_id, error)
        rules = []
        for document in rule_docs.values():
            try:
                rules.append(Rule.of(document))
            except Exception:  # stored before a change of the condition language
                log.exception("rule %s cannot run", document.get("id"))
        book = RuleBook.of(rules, flows)
        self._built = (versions, book)
        return book
