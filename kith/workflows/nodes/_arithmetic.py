"""Arithmetic over fields for the `calculator` node: parsed by a grammar, never `eval`.

`profile@traits.score = profile@traits.score + event@properties.total * 0.1`:
one or more assignments (separated by `;` or new lines) of an expression to a
field. Expressions have numbers, fields, `+ - * / // % **`, parentheses and a
few functions (`abs round floor ceil min max`). A field is one token with the
same syntax as everywhere else, so a key may hold `-`: write `a - b` with
spaces. Nothing here can run code, read anything but the run's documents or
take long: the text is at most MAX_EXPRESSION characters, the tree at most
MAX_DEPTH deep, and powers that would make huge integers are computed in
floating point, which overflows into an error instead."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from numbers import Number
from typing import Any, Final

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedInput

from kith.notation.paths import ALL_SCOPES, MISSING, DotPath, field_pattern, parse_path, path_reader

MAX_EXPRESSION: Final = 4096
MAX_DEPTH: Final = 100
MAX_INT_POWER: Final = 64
"""Integer powers up to this exponent (of bases below 2**64) stay exact integers."""

Scope = Mapping[str, Any]
Value = int | float
Expression = Callable[[Scope], Value]

GRAMMAR: Final = rf"""
start: _SEP* assignment (_SEP+ assignment)* _SEP*
assignment: FIELD "=" sum

?sum: product
    | sum "+" product -> add
    | sum "-" product -> sub
?product: unary
    | product "*" unary -> mul
    | product "/" unary -> div
    | product "//" unary -> floordiv
    | product "%" unary -> mod
?unary: "-" unary -> neg
    | "+" unary
    | power
?power: atom
    | atom "**" unary -> pow
?atom: NUMBER -> number
    | FIELD -> field
    | NAME "(" [sum ("," sum)*] ")" -> call
    | "(" sum ")"

FIELD.3: /{field_pattern()}/
NAME.1: /[a-z_]\w*/i
NUMBER.2: /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/
_SEP: /[;\n]/
%ignore /[ \t\r\f]+/
"""


class ExpressionError(ValueError):
    """An expression that cannot be compiled, or a value it cannot compute with."""


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(GRAMMAR, parser="lalr", maybe_placeholders=False)


def _as_number(value: Any, where: str) -> Value:
    if value is MISSING or value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, Number):
        raise ExpressionError(f"{where} holds {type(value).__name__}, not a number")
    return value  # type: ignore[return-value]


def _finite(value: Value) -> Value:
    if isinstance(value, float) and not math.isfinite(value):
        raise ExpressionError("the result is not a finite number")
    return value


def _divide(kind: str) -> Callable[[Value, Value], Value]:
    operation: Callable[[Value, Value], Value] = {
        "div": lambda a, b: a / b,
        "floordiv": lambda a, b: a // b,
        "mod": lambda a, b: a % b,
    }[kind]

    def divide(a: Value, b: Value) -> Value:
        if b == 0:
            raise ExpressionError("division by zero")
        return operation(a, b)

    return divide


def _power(base: Value, exponent: Value) -> Value:
    if (
        isinstance(base, int)
        and isinstance(exponent, int)
        and 0 <= exponent <= MAX_INT_POWER
        and abs(base) < 2**64
    ):
        power: int = base**exponent
        return power
    try:
        return math.pow(base, exponent)
    except OverflowError:
        raise ExpressionError("the result is too large") from None
    except ValueError:
        raise ExpressionError(f"{base} ** {exponent} is not a real number") from None


BINARY: Final[dict[str, Callable[[Value, Value], Value]]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": _divide("div"),
    "floordiv": _divide("floordiv"),
    "mod": _divide("mod"),
    "pow": _power,
}
FUNCTIONS: Final[dict[str, tuple[int, int, Callable[..., Value]]]] = {
    "abs": (1, 1, abs),
    "round": (1, 2, lambda x, digits=0: round(x, int(digits)) if digits else round(x)),
    "floor": (1, 1, math.floor),
    "ceil": (1, 1, math.ceil),
    "min": (1, 100, min),
    "max": (1, 100, max),
}


@dataclass(frozen=True, slots=True)
class Assignment:
    target: DotPath
    text: str
    expression: Expression


def compile_assignments(text: str) -> list[Assignment]:
    """The assignments of `text`, compiled; ExpressionError saying where it is wrong."""
    if len(text) > MAX_EXPRESSION:
        raise ExpressionError(f"an expression is at most {MAX_EXPRESSION} characters")
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as error:
        raise ExpressionError(
            f"cannot read the expression at line {error.line}, column {error.column}"
        ) from None
    _check_depth(tree)
    assignments = []
    for item in tree.children:
        assert isinstance(item, Tree)
        name, expression = item.children
        target = parse_path(str(name), scope_required=True, scopes=ALL_SCOPES)
        assignments.append(Assignment(target, str(name), _compile(expression)))
    return assignments


def _check_depth(tree: Tree[Token]) -> None:
    """Refuse deep trees before anything recurses over them."""
    stack: list[tuple[Tree[Token], int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ExpressionError(f"an expression is at most {MAX_DEPTH} levels deep")
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))


def _compile(node: Tree[Token] | Token) -> Expression:
    if isinstance(node, Token):  # `+x` leaves the operand itself
        raise ExpressionError(f"unexpected {node!s}")
    kind = node.data
    if kind == "number":
        text = str(node.children[0])
        number: Value = float(text) if any(c in text for c in ".eE") else int(text)
        return lambda scope: number
    if kind == "field":
        text = str(node.children[0])
        read = path_reader(parse_path(text, scope_required=True, scopes=ALL_SCOPES))
        return lambda scope: _as_number(read(scope), text)
    if kind == "neg":
        operand = _compile(node.children[0])
        return lambda scope: -operand(scope)
    if kind in BINARY:
        left, right = (_compile(child) for child in node.children)
        operation = BINARY[kind]
        return lambda scope: _finite(operation(left(scope), right(scope)))
    if kind == "call":
        return _call(node)
    raise ExpressionError(f"unexpected {kind}")  # pragma: no cover (the grammar has no other)


def _call(node: Tree[Token]) -> Expression:
    name, *args = node.children
    function = FUNCTIONS.get(str(name).lower())
    if function is None:
        known = ", ".join(sorted(FUNCTIONS))
        raise ExpressionError(f"unknown function {name!s}() (known: {known})")
    low, high, call = function
    if not low <= len(args) <= high:
        raise ExpressionError(f"{name!s}() takes {low}..{high} arguments, not {len(args)}")
    operands = [_compile(arg) for arg in args]
    return lambda scope: _finite(call(*(operand(scope) for operand in operands)))
