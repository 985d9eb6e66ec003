"""Generated conditions: printing then parsing gives the same tree, and the compiled
condition agrees with a small reference interpreter of docs/conditions.md over
generated documents full of missing fields, nulls and mismatched types."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kith.conditions import ConditionSyntaxError, compile_condition, parse_condition, to_text
from kith.conditions.syntax import (
    COMPARISONS,
    MATCHES,
    TESTS,
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
from kith.notation.paths import ALL_SCOPES, parse_path

PATHS = [
    "profile@a",
    "profile@b.c",
    "event@d",
    "session@list.0",
    'payload@["k k"]',
    "memory@m",
    "flow@f",
    "profile@nowhere.at.all",
]
ABSENT = object()

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1, 2),
    st.sampled_from([0.5, 2.0]),
    st.sampled_from(["", "a", "ab", "b", "A"]),
)
flat_lists = st.lists(scalars, max_size=3)
# mostly scalars, like real documents; lists and objects often enough to matter
json_values = st.one_of(
    scalars,
    scalars,
    flat_lists,
    st.lists(flat_lists, min_size=1, max_size=2),
    st.dictionaries(st.sampled_from(["x", "c"]), scalars, max_size=2),
)
literal_values = st.one_of(scalars, scalars, flat_lists.map(tuple))


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    docs: dict[str, Any] = {}
    for path in PATHS[:-1]:
        value = draw(st.one_of(st.just(ABSENT), json_values))
        if value is ABSENT:
            continue
        parsed = parse_path(path, scopes=ALL_SCOPES)
        node = docs.setdefault(parsed.scope or "event", {})
        if draw(st.booleans()) and len(parsed.keys) > 1 and parsed.keys[-1] != "0":
            continue  # leave the parent out: the field is missing one level higher
        for key in parsed.keys[:-1]:
            node = node.setdefault(key, {})
        if parsed.keys[-1] == "0":  # session@list.0: a list holding the value
            docs[parsed.scope or "event"][parsed.keys[0]] = [value]
        else:
            node[parsed.keys[-1]] = value
    for scope in draw(st.sets(st.sampled_from(sorted(ALL_SCOPES)), max_size=2)):
        docs.pop(scope, None)  # a whole scope absent
    return docs


fields = st.sampled_from(PATHS).map(lambda p: Field(parse_path(p, scopes=ALL_SCOPES)))
literals = literal_values.map(Literal)
simple_operands = st.one_of(fields, fields, fields, literals)
operands: st.SearchStrategy[Operand] = st.one_of(
    simple_operands,
    simple_operands,
    simple_operands,
    st.builds(Call, st.sampled_from(["lowercase", "uppercase", "len"]), st.tuples(simple_operands)),
)
predicates = st.one_of(
    st.builds(Compare, st.sampled_from(COMPARISONS), operands, operands),
    st.builds(Between, operands, operands, operands),
    st.builds(Unary, st.sampled_from(TESTS), operands),
    st.builds(Match, st.sampled_from(MATCHES), operands, operands),
)
trees: st.SearchStrategy[Node] = st.recursive(
    predicates,
    lambda inner: st.one_of(
        st.builds(Not, inner),
        st.lists(inner, min_size=2, max_size=3).map(lambda items: And(tuple(items))),
        st.lists(inner, min_size=2, max_size=3).map(lambda items: Or(tuple(items))),
    ),
    max_leaves=5,
)


# -- the reference interpreter: the rules of docs/conditions.md, written plainly --

MISSING = object()


def read(docs: dict[str, Any], path: Any) -> Any:
    node: Any = docs.get(path.scope, MISSING)
    for key in path.keys:
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return MISSING
    return node


def kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list | tuple):
        return "list"
    return type(value).__name__


def same(a: Any, b: Any) -> bool:
    if kind_of(a) != kind_of(b):
        return False
    if kind_of(a) == "list":
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


def is_list(value: Any) -> bool:
    return isinstance(value, list | tuple)


def equal(a: Any, b: Any) -> bool:
    if a is MISSING or b is MISSING:
        return False
    if is_list(a) != is_list(b):
        items, item = (a, b) if is_list(a) else (b, a)
        return any(same(item, x) for x in items)
    return same(a, b)


def comparable(a: Any, b: Any) -> bool:
    return kind_of(a) == kind_of(b) and kind_of(a) in ("number", "str")


def value_of(operand: Operand, docs: dict[str, Any]) -> Any:
    if isinstance(operand, Literal):
        return operand.value
    if isinstance(operand, Field):
        return read(docs, operand.path)
    arg = value_of(operand.args[0], docs)
    if arg is MISSING:
        return MISSING
    if operand.name == "len":
        return len(arg) if isinstance(arg, str | list | tuple | dict) else MISSING
    if not isinstance(arg, str):
        return arg
    return arg.lower() if operand.name == "lowercase" else arg.upper()


def empty(value: Any) -> bool:
    return (
        value is MISSING
        or value is None
        or (isinstance(value, str | list | tuple | dict) and len(value) == 0)
    )


def expected(node: Node, docs: dict[str, Any]) -> bool:
    if isinstance(node, Not):
        return not expected(node.operand, docs)
    if isinstance(node, And):
        return all(expected(child, docs) for child in node.operands)
    if isinstance(node, Or):
        return any(expected(child, docs) for child in node.operands)
    if isinstance(node, Unary):
        value = value_of(node.operand, docs)
        return {
            "EXISTS": value is not MISSING,
            "NOT EXISTS": value is MISSING,
            "IS NULL": value is None,
            "IS NOT NULL": value is not None,
            "EMPTY": empty(value),
            "NOT EMPTY": not empty(value),
        }[node.kind]
    if isinstance(node, Between):
        value, low, high = (value_of(x, docs) for x in (node.value, node.low, node.high))
        return comparable(low, value) and comparable(value, high) and low <= value <= high
    left, right = value_of(node.left, docs), value_of(node.right, docs)
    if isinstance(node, Compare):
        if node.op == "==":
            return equal(left, right)
        if node.op == "!=":
            return not equal(left, right)
        if not comparable(left, right):
            return False
        return {
            "<": left < right,
            "<=": left <= right,
            ">": left > right,
            ">=": left >= right,
        }[node.op]
    assert isinstance(node, Match)
    if node.kind in ("IN", "NOT IN"):
        inside = (
            left is not MISSING
            and is_list(right)
            and (
                any(any(same(x, y) for y in right) for x in left)
                if is_list(left)
                else any(same(left, y) for y in right)
            )
        )
        return inside if node.kind == "IN" else not inside
    if isinstance(left, str):
        if not isinstance(right, str):
            return False
        return {
            "CONTAINS": right in left,
            "STARTS WITH": left.startswith(right),
            "ENDS WITH": left.endswith(right),
        }[node.kind]
    if is_list(left) and right is not MISSING:
        if node.kind == "CONTAINS":
            return any(same(right, x) for x in left)
        if not left:
            return False
        return same(left[0] if node.kind == "STARTS WITH" else left[-1], right)
    return False


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees)
def test_printing_then_parsing_round_trips(tree: Node) -> None:
    text = to_text(tree)
    parsed = parse_condition(text)
    assert parsed == tree
    assert to_text(parsed) == text


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees, documents())
def test_compiled_conditions_agree_with_the_reference(tree: Node, docs: dict[str, Any]) -> None:
    condition = compile_condition(to_text(tree))
    assert condition.evaluate(docs) is expected(tree, docs), to_text(tree)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_text_parses_or_raises_the_syntax_error(text: str) -> None:
    try:
        condition = compile_condition(text)
    except ConditionSyntaxError as error:
        assert f"line {error.line}, column {error.column}" in str(error)
        return
    assert condition.evaluate({}) in (True, False)
