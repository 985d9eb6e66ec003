"""A condition's syntax tree turned into nested closures, built once per text.

Evaluation calls plain Python functions that capture everything decided at
compile time (which path, which constant, which comparison); nothing is parsed
or looked up by name when a condition runs. Comparisons of a field with a
constant, the common case, get closures specialised to the constant's type."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from kith.conditions import values
from kith.conditions.functions import FUNCTIONS
from kith.conditions.syntax import (
    And,
    Between,
    Call,
    Compare,
    Field,
    Literal,
    Match,
    Node,
    Not,
    Operand,
    Or,
    Unary,
)
from kith.notation.paths import MISSING, path_reader

Scope = Mapping[str, Any]
Getter = Callable[[Scope, datetime | None], Any]
Check = Callable[[Scope, datetime | None], bool]

MISSING_SCOPE: Scope = MappingProxyType({})
"""The scope constant operands are folded with at compile time (they read nothing)."""


def compile_node(node: Node) -> Check:
    """The predicate of a syntax tree: `(scope, now) -> bool`, never raising."""
    if isinstance(node, Or):
        return _any([compile_node(child) for child in node.operands])
    if isinstance(node, And):
        return _all([compile_node(child) for child in node.operands])
    if isinstance(node, Not):
        inner = compile_node(node.operand)
        return lambda scope, now: not inner(scope, now)
    if isinstance(node, Compare):
        return _compare(node)
    if isinstance(node, Between):
        return _between(node)
    if isinstance(node, Unary):
        return _test(node)
    return _match(node)


def _all(checks: list[Check]) -> Check:
    if len(checks) == 2:
        first, second = checks
        return lambda scope, now: first(scope, now) and second(scope, now)
    if len(checks) == 3:
        first, second, third = checks
        return lambda scope, now: first(scope, now) and second(scope, now) and third(scope, now)

    def every(scope: Scope, now: datetime | None) -> bool:
        for check in checks:  # noqa: SIM110 - a loop is faster than all() over a generator
            if not check(scope, now):
                return False
        return True

    return every


def _any(checks: list[Check]) -> Check:
    if len(checks) == 2:
        first, second = checks
        return lambda scope, now: first(scope, now) or second(scope, now)

    def some(scope: Scope, now: datetime | None) -> bool:
        for check in checks:  # noqa: SIM110 - a loop is faster than any() over a generator
            if check(scope, now):
                return True
        return False

    return some


def getter(operand: Operand) -> Getter:
    """`(scope, now) -> value` for any operand; MISSING when a field is absent."""
    if isinstance(operand, Literal):
        value = operand.value
        return lambda scope, now: value
    if isinstance(operand, Field):
        read = path_reader(operand.path)
        return lambda scope, now: read(scope)
    return _call(operand)


def _call(call: Call) -> Getter:
    function = FUNCTIONS[call.name]
    apply = function.apply
    args = [getter(arg) for arg in call.args]
    if not function.reads_clock and all(isinstance(arg, Literal) for arg in call.args):
        constant = apply(None, *(arg(MISSING_SCOPE, None) for arg in args))
        return lambda scope, now: constant

    if not args:
        return lambda scope, now: apply(now)
    if len(args) == 1:
        (only,) = args

        def run_one(scope: Scope, now: datetime | None) -> Any:
            value = only(scope, now)
            return MISSING if value is MISSING else apply(now, value)

        return run_one

    def run(scope: Scope, now: datetime | None) -> Any:
        given = [arg(scope, now) for arg in args]
        for value in given:
            if value is MISSING:
                return MISSING
        return apply(now, *given)

    return run


def _constant(operand: Operand) -> tuple[bool, Any]:
    """(True, value) when the operand's value is known at compile time."""
    if isinstance(operand, Literal):
        return True, operand.value
    if isinstance(operand, Call):
        function = FUNCTIONS[operand.name]
        if not function.reads_clock and all(isinstance(a, Literal) for a in operand.args):
            return True, getter(operand)(MISSING_SCOPE, None)
    return False, None


def _field_and_constant(left: Operand, right: Operand) -> tuple[Callable[[Scope], Any], Any] | None:
    """(reader, constant) when one side is a field and the other a constant,
    with the field first; only for symmetric use (equality)."""
    for field, other in ((left, right), (right, left)):
        known, value = _constant(other)
        if isinstance(field, Field) and known:
            return path_reader(field.path), value
    return None


_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "<": values.less,
    "<=": values.less_or_equal,
    ">": lambda a, b: values.less(b, a),
    ">=": lambda a, b: values.less_or_equal(b, a),
}


def _compare(node: Compare) -> Check:
    if node.op in ("==", "!="):
        check = _equality(node.left, node.right)
        if node.op == "!=":
            return lambda scope, now: not check(scope, now)
        return check
    order = _ORDERINGS[node.op]
    known, constant = _constant(node.right)
    if isinstance(node.left, Field) and known and values.kind(constant) in ("number", "str"):
        return _ordering_with_constant(path_reader(node.left.path), node.op, constant, order)
    left, right = getter(node.left), getter(node.right)
    return lambda scope, now: order(left(scope, now), right(scope, now))


def _equality(left_operand: Operand, right_operand: Operand) -> Check:
    pair = _field_and_constant(left_operand, right_operand)
    if pair is not None:
        read, constant = pair
        kind = values.kind(constant)
        if kind == "str":

            def equals_text(scope: Scope, now: datetime | None) -> bool:
                value = read(scope)
                if value.__class__ is str:
                    return bool(value == constant)
                return values.equal(value, constant)

            return equals_text
        if kind == "number":

            def equals_number(scope: Scope, now: datetime | None) -> bool:
                value = read(scope)
                if value.__class__ is int or value.__class__ is float:
                    return bool(value == constant)
                return values.equal(value, constant)

            return equals_number
        return lambda scope, now: values.equal(read(scope), constant)
    left, right = getter(left_operand), getter(right_operand)
    return lambda scope, now: values.equal(left(scope, now), right(scope, now))


def _ordering_with_constant(
    read: Callable[[Scope], Any], op: str, constant: Any, order: Callable[[Any, Any], bool]
) -> Check:
    numeric = values.kind(constant) == "number"
    compare: Callable[[Any], bool] = {
        "<": lambda v: v < constant,
        "<=": lambda v: v <= constant,
        ">": lambda v: v > constant,
        ">=": lambda v: v >= constant,
    }[op]

    def ordering(scope: Scope, now: datetime | None) -> bool:
        value = read(scope)
        cls = value.__class__
        if (cls is int or cls is float) if numeric else cls is str:
            return bool(compare(value))
        return order(value, constant)

    return ordering


def _between(node: Between) -> Check:
    value, low, high = getter(node.value), getter(node.low), getter(node.high)

    def between(scope: Scope, now: datetime | None) -> bool:
        current = value(scope, now)
        return values.less_or_equal(low(scope, now), current) and values.less_or_equal(
            current, high(scope, now)
        )

    return between


_TESTS: dict[str, Callable[[Any], bool]] = {
    "EXISTS": lambda value: value is not MISSING,
    "NOT EXISTS": lambda value: value is MISSING,
    "IS NULL": lambda value: value is None,
    "IS NOT NULL": lambda value: value is not None,
    "EMPTY": values.empty,
    "NOT EMPTY": lambda value: not values.empty(value),
}


def _test(node: Unary) -> Check:
    test = _TESTS[node.kind]
    if isinstance(node.operand, Field):
        read = path_reader(node.operand.path)
        return lambda scope, now: test(read(scope))
    value = getter(node.operand)
    return lambda scope, now: test(value(scope, now))


_MATCHES: dict[str, Callable[[Any, Any], bool]] = {
    "CONTAINS": values.contains,
    "STARTS WITH": values.starts_with,
    "ENDS WITH": values.ends_with,
    "IN": values.within,
    "NOT IN": lambda item, items: not values.within(item, items),
}


def _match(node: Match) -> Check:
    known, constant = _constant(node.right)
    if node.kind in ("IN", "NOT IN") and known and isinstance(node.left, Field):
        inside = _membership(path_reader(node.left.path), constant)
        if node.kind == "NOT IN":
            return lambda scope, now: not inside(scope, now)
        return inside
    affixed = node.kind in ("STARTS WITH", "ENDS WITH") and known and isinstance(constant, str)
    if affixed and isinstance(node.left, Field):
        read = path_reader(node.left.path)
        prefix = node.kind == "STARTS WITH"
        fallback = _MATCHES[node.kind]

        def text_affix(scope: Scope, now: datetime | None) -> bool:
            value = read(scope)
            if value.__class__ is str:
                return value.startswith(constant) if prefix else value.endswith(constant)
            return fallback(value, constant)

        return text_affix
    match = _MATCHES[node.kind]
    left, right = getter(node.left), getter(node.right)
    return lambda scope, now: match(left(scope, now), right(scope, now))


def _membership(read: Callable[[Scope], Any], items: Any) -> Check:
    """`field IN [...]` with a literal list: a set lookup when the list holds only
    strings or only numbers."""
    if not isinstance(items, tuple | list):
        return lambda scope, now: False
    kinds = {values.kind(item) for item in items}
    if kinds in ({"str"}, {"number"}):
        wanted = frozenset(items)
        classes = (str,) if kinds == {"str"} else (int, float)

        def inside_set(scope: Scope, now: datetime | None) -> bool:
            value = read(scope)
            if value.__class__ in classes:
                return value in wanted
            return values.within(value, items)

        return inside_set
    return lambda scope, now: values.within(read(scope), items)
