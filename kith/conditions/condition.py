"""The public face of the condition language: compile once, evaluate many times.

`compile_condition` keeps the most recent compiled conditions by text, so rules,
segments and flow nodes that hold the same condition share one compiled form
and nothing is parsed twice."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from kith.conditions.compile import Check, compile_node
from kith.conditions.errors import ConditionSyntaxError
from kith.conditions.functions import FUNCTIONS
from kith.conditions.parse import parse_condition
from kith.conditions.syntax import (
    And,
    Between,
    Call,
    Compare,
    Field,
    Match,
    Node,
    Not,
    Operand,
    Or,
    Unary,
)


@dataclass(frozen=True, slots=True, eq=False)
class Condition:
    """A compiled condition.

    `uses_now` is true when a function reads the clock (`now()`, `now.offset()`, ...):
    its result changes with time alone, so segments refresh such conditions on a
    schedule. `scopes` are the documents it reads (`profile`, `event`, ...)."""

    text: str
    tree: Node
    uses_now: bool
    scopes: frozenset[str]
    _check: Check = field(repr=False)

    def evaluate(self, scope: Mapping[str, Any], *, now: datetime | None = None) -> bool:
        """True or false for these documents (`{"profile": {...}, "event": {...}}`; an
        absent scope reads as missing fields). `now` fixes the clock (UTC if naive);
        by default it is the current time. Never raises because of the data."""
        if self.uses_now:
            if now is None:
                now = datetime.now(UTC)
            elif now.tzinfo is None:
                now = now.replace(tzinfo=UTC)
        return self._check(scope, now)


@lru_cache(maxsize=1024)
def compile_condition(text: str) -> Condition:
    """The compiled form of `text` (cached by text); ConditionSyntaxError if it has none."""
    tree = parse_condition(text)
    operands = list(_operands(tree))
    uses_now = any(
        isinstance(operand, Call) and FUNCTIONS[operand.name].reads_clock for operand in operands
    )
    scopes = frozenset(
        operand.path.scope or "event" for operand in operands if isinstance(operand, Field)
    )
    return Condition(text, tree, uses_now, scopes, compile_node(tree))


def _operands(node: Node) -> Iterator[Operand]:
    """Every operand in the tree, function arguments included."""
    if isinstance(node, And | Or):
        for child in node.operands:
            yield from _operands(child)
        return
    if isinstance(node, Not):
        yield from _operands(node.operand)
        return
    parts: tuple[Operand, ...]
    if isinstance(node, Compare | Match):
        parts = (node.left, node.right)
    elif isinstance(node, Between):
        parts = (node.value, node.low, node.high)
    else:
        assert isinstance(node, Unary)
        parts = (node.operand,)
    pending = list(parts)
    while pending:
        operand = pending.pop()
        yield operand
        if isinstance(operand, Call):
            pending.extend(operand.args)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What `POST /api/conditions/check` answers: `result` is None when the text is invalid."""

    valid: bool
    result: bool | None
    error: str | None


def check_condition(
    text: str, scope: Mapping[str, Any], *, now: datetime | None = None
) -> CheckResult:
    """Parse and evaluate in one step, turning a syntax error into an answer."""
    try:
        condition = compile_condition(text)
    except ConditionSyntaxError as error:
        return CheckResult(valid=False, result=None, error=str(error))
    return CheckResult(valid=True, result=condition.evaluate(scope, now=now), error=None)


def condition_problem(text: str) -> str | None:
    """None when `text` is a valid condition, else the message naming line and column.

    For services that save a condition: raise
    `InvalidPayload.at(["body", ..., "condition"], problem, "condition_syntax")`."""
    try:
        compile_condition(text)
    except ConditionSyntaxError as error:
        return str(error)
    return None
