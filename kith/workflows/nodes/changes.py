"""Branching on what this flow run changed."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from kith.notation.paths import get_path
from kith.workflows.node import FlowNode, NodeConfig, Output
from kith.workflows.nodes._compile import field
from kith.workflows.run import FlowRun


class ValueChangedConfig(NodeConfig):
    field: str = Field(description="A profile field, e.g. `profile@traits.tier`.")

    @field_validator("field")
    @classmethod
    def path(cls, value: str) -> str:
        field(value)
        return value


class ValueChanged(FlowNode[ValueChangedConfig]):
    """Branches on whether a profile field differs from its value when this flow run
    started: `changed` or `unchanged` (a field that appeared or disappeared has
    changed). Example: `{"field": "profile@traits.tier"}` after nodes that may have
    set the tier, to announce only a new tier. The engine copies the profile at the
    start of runs of flows that hold this node (and only those)."""

    type = "value-changed"
    name = "Value changed"
    family = "profile"
    ports = ("changed", "unchanged")
    config_model = ValueChangedConfig
    snapshot = True

    def __init__(self, config: ValueChangedConfig) -> None:
        super().__init__(config)
        self._keys = field(config.field).keys

    async def run(self, run: FlowRun, payload: Any) -> Output:
        before = get_path(run.started_profile or {}, self._keys)
        now = get_path(run.profile or {}, self._keys)
        return Output("unchanged" if before == now else "changed", payload)


NODES = [ValueChanged]
