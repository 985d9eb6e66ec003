"""The last runs of each flow, with their traces, for `GET /api/flows/{id}/runs`.

Kept in memory by the process that ran them (the most recent `keep` per flow):
traces are for looking at a flow's recent behaviour, and writing every trace on
the hot path would cost every request a row. With several processes each
answers with its own runs."""

from __future__ import annotations

from collections import deque

from kith.domain.clock import iso, utcnow
from kith.domain.document import Document
from kith.workflows.run import FlowRun


def run_document(run: FlowRun, rule: str | None) -> Document:
    return {
        "id": run.run_id,
        "flow": run.flow_id,
        "version": run.version,
        "rule": rule,
        "event": {"id": run.event.get("id"), "type": run.event.get("type")},
        "profile": (run.profile or {}).get("id"),
        "finished": iso(utcnow()),
        "errors": run.errors,
        "ux": run.ux,
        "response": run.response,
        "trace": [entry.document() for entry in run.trace],
    }


class FlowRunLog:
    def __init__(self, keep: int = 20) -> None:
        self._keep = keep
        self._runs: dict[str, deque[tuple[FlowRun, str | None]]] = {}
        self.count = 0
        self.failed = 0
        self.by_flow: dict[tuple[str, str], int] = {}
        """Runs by (flow id, `ok` or `failed`), for `/metrics`."""
        self.node_errors: dict[str, int] = {}
        """Failed node runs by node type, for `/metrics`."""

    def record(self, run: FlowRun, rule: str | None) -> None:
        self.count += 1
        if run.errors:
            self.failed += 1
        outcome = (run.flow_id, "failed" if run.errors else "ok")
        self.by_flow[outcome] = self.by_flow.get(outcome, 0) + 1
        for node_type in run.failed_node_types:
            self.node_errors[node_type] = self.node_errors.get(node_type, 0) + 1
        recent = self._runs.get(run.flow_id)
        if recent is None:
            recent = self._runs[run.flow_id] = deque(maxlen=self._keep)
        recent.append((run, rule))

    def recent(self, flow_id: str) -> list[Document]:
        """Newest first."""
        return [run_document(run, rule) for run, rule in reversed(self._runs.get(flow_id, ()))]
