"""The calculator node: arithmetic over fields into fields (see `_arithmetic`)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from kith.notation.paths import set_path
from kith.workflows.node import FlowNode, NodeConfig, NodeError, Output
from kith.workflows.nodes._arithmetic import MAX_EXPRESSION, ExpressionError, compile_assignments
from kith.workflows.nodes._compile import field
from kith.workflows.nodes.profile import WRITABLE, target
from kith.workflows.run import FlowRun


def _assignments(text: str) -> list[Any]:
    try:
        assignments = compile_assignments(text)
    except ExpressionError as error:
        raise ValueError(f"expression: {error}") from None
    for assignment in assignments:
        field(assignment.text, scopes=WRITABLE)
    return assignments


class CalculatorConfig(NodeConfig):
    expression: str = Field(
        min_length=1,
        max_length=MAX_EXPRESSION,
        description="One or more `field = expression` lines (or `;`-separated). "
        "Operators `+ - * / // % **`, parentheses, `abs round floor ceil min max`; "
        "a missing or null field reads as 0.",
    )

    @field_validator("expression")
    @classmethod
    def compiles(cls, value: str) -> str:
        _assignments(value)
        return value


class Calculator(FlowNode[CalculatorConfig]):
    """Computes numbers from fields and writes them to fields of the profile, the
    session or the memory, in order (a later line sees an earlier one's result).
    Example: `{"expression": "profile@traits.score = profile@traits.score +
    event@properties.total * 0.1"}`. A missing or null field reads as 0; any other
    value that is not a number, a division by zero or a result too large to store
    fails the node. Write `a - b` with spaces, since a key may hold `-`."""

    type = "calculator"
    name = "Calculator"
    family = "data"
    config_model = CalculatorConfig

    def __init__(self, config: CalculatorConfig) -> None:
        super().__init__(config)
        self._assignments = _assignments(config.expression)

    async def run(self, run: FlowRun, payload: Any) -> Output:
        for assignment in self._assignments:
            try:
                value = assignment.expression(run.scope(payload))
            except ExpressionError as error:
                raise NodeError(f"{assignment.text}: {error}") from None
            set_path(target(run, assignment.target), assignment.target.keys, value)
        return self.out(payload)


NODES = [Calculator]
