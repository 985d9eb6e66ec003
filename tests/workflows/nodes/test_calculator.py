"""The calculator node and its expression language."""

from __future__ import annotations

from typing import Any

import pytest

from kith.workflows.graph import FlowInvalid
from kith.workflows.nodes._arithmetic import ExpressionError, compile_assignments
from tests.workflows.nodes.flows import new_profile_doc, node, run_flow

ORDER = {"id": "e1", "type": "order-completed", "properties": {"total": 150, "items": 3}}


async def test_calculator_writes_the_result_into_the_field() -> None:
    profile = new_profile_doc(traits={"score": 10})
    expression = "profile@traits.score = profile@traits.score + event@properties.total * 0.1"
    run = await run_flow([node("c", "calculator", {"expression": expression})],
                         event=ORDER, profile=profile)  # fmt: skip
    assert run.errors == [] and profile["traits"]["score"] == 25.0


async def test_later_lines_see_earlier_results_and_memory_and_session_are_writable() -> None:
    session = {"id": "s1"}
    expression = """
        memory@avg = event@properties.total / event@properties.items
        memory@rounded = round(memory@avg * 1.1, 1); session@n = max(1, memory@rounded // 10)
    """
    run = await run_flow([node("c", "calculator", {"expression": expression})],
                         event=ORDER, session=session)  # fmt: skip
    assert run.errors == []
    assert run.memory == {"avg": 50.0, "rounded": 55.0} and session == {"id": "s1", "n": 5.0}


def evaluate(text: str, scope: dict[str, Any] | None = None) -> Any:
    (assignment,) = compile_assignments(f"memory@x = {text}")
    return assignment.expression(scope or {})


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("-2 ** 2", -4), ("2 ** -1", 0.5),
        ("2 ** 3 ** 2", 512), ("7 // 2", 3), ("7 % 4", 3), ("7 / 2", 3.5), ("abs(-3)", 3),
        ("floor(2.7) + ceil(2.1)", 5), ("min(4, 2, 8)", 2), ("round(2.345, 2)", 2.35),
        ("1e3 + .5", 1000.5), ("--3", 3), ("+4", 4),
        ("profile@traits.missing + 1", 1), ("profile@traits.none * 5", 0),
        ("profile@traits.a-b + 1", 8),
    ],
)  # fmt: skip
def test_expressions_compute_like_arithmetic(text: str, value: Any) -> None:
    scope = {"profile": {"traits": {"none": None, "a-b": 7}}}
    assert evaluate(text, scope) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1 / 0", "division by zero"), ("5 % 0", "division by zero"),
        ("10 ** 10 ** 10", "too large"), ("(-8) ** 0.5", "not a real number"),
        ("profile@traits.name + 1", "holds str, not a number"),
        ("profile@traits.flag + 1", "holds bool, not a number"),
    ],
)  # fmt: skip
def test_values_it_cannot_compute_with_are_errors(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        evaluate(text, {"profile": {"traits": {"name": "Ada", "flag": True}}})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("memory@x = 1 +", "line 1, column"),
        ("x = 1", "line 1, column 1"),
        ("memory@x = __import__('os')", "line 1"),
        ("memory@x = open(1)", "unknown function open()"),
        ("memory@x = round(1, 2, 3)", "takes 1..2 arguments"),
        ("memory@x = " + "-" * 200 + "1", "levels deep"),
        ("memory@x = " + "1 + " * 2000 + "1", "at most 4096 characters"),
        ("memory@x = profile.traits", "line 1"),
    ],
)
def test_broken_expressions_are_refused_when_compiled(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        compile_assignments(text)


async def test_the_node_refuses_targets_it_may_not_write_and_fails_on_bad_values() -> None:
    with pytest.raises(FlowInvalid, match="may write only"):
        await run_flow([node("c", "calculator", {"expression": "event@x = 1"})])
    with pytest.raises(FlowInvalid, match="expression"):
        await run_flow([node("c", "calculator", {"expression": "memory@x = 1 *"})])
    run = await run_flow([node("c", "calculator", {"expression": "memory@x = 1 / memory@y"})])
    assert run.errors[0]["msg"] == "memory@x: division by zero" and run.memory == {}
