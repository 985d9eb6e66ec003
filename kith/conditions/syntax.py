"""The parsed form of a condition: a small tree of frozen nodes.

Parsing produces it, the compiler turns it into a callable, and `to_text` prints
it back in the canonical spelling (`parse(to_text(node)) == node`), so a console
can show a condition the way Kith reads it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from kith.notation.paths import DotPath, quote

COMPARISONS: Final = ("==", "!=", ">", ">=", "<", "<=")
TESTS: Final = ("EXISTS", "NOT EXISTS", "IS NULL", "IS NOT NULL", "EMPTY", "NOT EMPTY")
MATCHES: Final = ("CONTAINS", "STARTS WITH", "ENDS WITH", "IN", "NOT IN")


@dataclass(frozen=True, slots=True)
class Field:
    path: DotPath


@dataclass(frozen=True, slots=True)
class Literal:
    """A constant: str, int, float, bool, None or a list of literals (as a tuple)."""

    value: Any


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple[Operand, ...]


Operand = Field | Literal | Call


@dataclass(frozen=True, slots=True)
class Compare:
    op: str
    left: Operand
    right: Operand


@dataclass(frozen=True, slots=True)
class Between:
    value: Operand
    low: Operand
    high: Operand


@dataclass(frozen=True, slots=True)
class Unary:
    """A one-operand predicate: one of TESTS."""

    kind: str
    operand: Operand


@dataclass(frozen=True, slots=True)
class Match:
    """A two-operand text or membership predicate: one of MATCHES."""

    kind: str
    left: Operand
    right: Operand


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Node, ...]


Predicate = Compare | Between | Unary | Match
Node = Predicate | Not | And | Or


def to_text(node: Node) -> str:
    """The canonical text of a condition tree."""
    if isinstance(node, Or):
        return " OR ".join(_grouped(child, Or) for child in node.operands)
    if isinstance(node, And):
        return " AND ".join(_grouped(child, And | Or) for child in node.operands)
    if isinstance(node, Not):
        return "NOT " + _grouped(node.operand, And | Or)
    if isinstance(node, Compare):
        return f"{operand_text(node.left)} {node.op} {operand_text(node.right)}"
    if isinstance(node, Between):
        value, low, high = (operand_text(x) for x in (node.value, node.low, node.high))
        return f"{value} BETWEEN {low} AND {high}"
    if isinstance(node, Unary):
        return f"{operand_text(node.operand)} {node.kind}"
    return f"{operand_text(node.left)} {node.kind} {operand_text(node.right)}"


def _grouped(node: Node, kinds: Any) -> str:
    text = to_text(node)
    return f"({text})" if isinstance(node, kinds) else text


def operand_text(operand: Operand) -> str:
    if isinstance(operand, Field):
        return operand.path.notation
    if isinstance(operand, Call):
        return f"{operand.name}({', '.join(operand_text(arg) for arg in operand.args)})"
    return literal_text(operand.value)


def literal_text(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(literal_text(item) for item in value) + "]"
    return repr(value)
