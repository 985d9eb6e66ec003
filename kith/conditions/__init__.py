"""The condition language shared by rules, flow nodes, segments, computed traits
and destinations: Tracardi's TQL as its users write it, with its gaps fixed.
See docs/conditions.md."""

from kith.conditions.condition import (
    CheckResult,
    Condition,
    check_condition,
    compile_condition,
    condition_problem,
)
from kith.conditions.errors import ConditionSyntaxError
from kith.conditions.parse import MAX_CONDITION_LENGTH, MAX_NESTING, parse_condition
from kith.conditions.syntax import to_text

__all__ = [
    "MAX_CONDITION_LENGTH",
    "MAX_NESTING",
    "CheckResult",
    "Condition",
    "ConditionSyntaxError",
    "check_condition",
    "compile_condition",
    "condition_problem",
    "parse_condition",
    "to_text",
]
