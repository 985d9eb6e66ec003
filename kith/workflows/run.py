"""One flow run: the documents it reads and changes, its memory, and what it answers.

The profile and session are the request's own documents (sync flows) or ones
loaded under the profile lock (async flows): nodes change them in place, and the
caller saves them. No "update profile" node is needed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kith.domain.document import Document
from kith.workflows.services import NodeServices


@dataclass(slots=True)
class TraceEntry:
    node: str
    input: Any
    output_port: str | None
    output: Any
    ms: float
    error: str | None

    def document(self) -> Document:
        return {
            "node": self.node,
            "input": self.input,
            "output_port": self.output_port,
            "output": self.output,
            "ms": round(self.ms, 3),
            "error": self.error,
        }


@dataclass(slots=True)
class FlowRun:
    flow_id: str
    version: int | None
    run_id: str
    event: Document
    profile: Document | None
    session: Document | None
    now: datetime
    services: NodeServices
    debug: bool = False
    memory: Document = field(default_factory=dict)
    ux: list[Document] = field(default_factory=list)
    response: Document = field(default_factory=dict)
    errors: list[Document] = field(default_factory=list)
    trace: list[TraceEntry] = field(default_factory=list)
    failed_node_types: list[str] = field(default_factory=list)
    """The type of every node run that failed, whatever its `on_error` (for metrics)."""
    started_profile: Document | None = None
    """A copy of the profile as it was when the run started, taken only for flows
    with a node that needs it (`FlowNode.snapshot`)."""
    profile_changed: bool = False
    session_changed: bool = False

    def scope(self, payload: Any) -> Mapping[str, Any]:
        """The documents conditions and templates read: `profile@`, `event@`,
        `session@`, `payload@` (this node's input), `memory@` and `flow@`."""
        documents: dict[str, Any] = {
            "event": self.event,
            "payload": payload,
            "memory": self.memory,
            "flow": {"id": self.flow_id, "version": self.version, "run": self.run_id},
        }
        if self.profile is not None:
            documents["profile"] = self.profile
        if self.session is not None:
            documents["session"] = self.session
        return documents

    def require_profile(self) -> Document:
        """The profile, for nodes that change it; a profile-less run has none."""
        if self.profile is None:
            from kith.workflows.node import NodeError

            raise NodeError("This run has no profile (a profile-less event)")
        self.profile_changed = True
        return self.profile
