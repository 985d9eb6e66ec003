"""Condition text to a syntax tree, with errors that say where and what would fit.

Limits keep a hostile or broken condition cheap to refuse: at most
MAX_CONDITION_LENGTH characters and MAX_NESTING levels of brackets, checked
before the parser runs, and a bounded tree depth (a long chain of NOTs) checked
before anything recurses over the tree."""

from __future__ import annotations

import re
from typing import Any, Final

from lark import Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from kith.conditions.errors import ConditionSyntaxError, position
from kith.conditions.functions import FUNCTIONS
from kith.conditions.grammar import TERMINAL_WORDS, condition_parser
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
from kith.notation.paths import ALL_SCOPES, parse_path, unquote

MAX_CONDITION_LENGTH: Final = 64 * 1024
"""Longest condition text, in characters."""
MAX_NESTING: Final = 100
"""Deepest nesting of brackets (parentheses, lists, function calls)."""
MAX_TREE_DEPTH: Final = 2 * MAX_NESTING + 10
"""Deepest syntax tree (brackets plus chains of NOT)."""

_BRACKETS = re.compile(r"""\"(?:[^"\\]|\\[\s\S])*\"|'(?:[^'\\]|\\[\s\S])*'|[()\[\]]""")
_OPERATORS: Final = {"=": "==", "<>": "!=", "=>": ">=", "=<": "<="}
_TESTS: Final = {
    "exists": "EXISTS",
    "not_exists": "NOT EXISTS",
    "is_null": "IS NULL",
    "is_not_null": "IS NOT NULL",
    "empty": "EMPTY",
    "not_empty": "NOT EMPTY",
}
_MATCHES: Final = {
    "contains": "CONTAINS",
    "starts_with": "STARTS WITH",
    "ends_with": "ENDS WITH",
    "in_list": "IN",
    "not_in_list": "NOT IN",
}


def parse_condition(text: str) -> Node:
    """The syntax tree of `text`; ConditionSyntaxError naming line and column if it has none."""
    if not isinstance(text, str):
        raise ConditionSyntaxError("a condition is text", line=1, column=1)
    if len(text) > MAX_CONDITION_LENGTH:
        line, column = position(text, MAX_CONDITION_LENGTH)
        raise ConditionSyntaxError(
            f"the condition is longer than {MAX_CONDITION_LENGTH} characters",
            line=line,
            column=column,
        )
    if not text.strip():
        raise ConditionSyntaxError(
            "the condition is empty", line=1, column=1, expected=[TERMINAL_WORDS["FIELD"]]
        )
    _check_nesting(text)
    try:
        tree = condition_parser().parse(text)
    except UnexpectedInput as error:
        raise _syntax_error(text, error) from None
    _check_depth(text, tree)
    return _node(tree)


def _check_nesting(text: str) -> None:
    depth = 0
    for match in _BRACKETS.finditer(text):
        char = match.group()
        if char in "([":
            depth += 1
            if depth > MAX_NESTING:
                line, column = position(text, match.start())
                raise ConditionSyntaxError(
                    f"brackets are nested more than {MAX_NESTING} deep", line=line, column=column
                )
        elif char in ")]":
            depth -= 1


def _check_depth(text: str, tree: Tree[Token]) -> None:
    stack: list[tuple[Tree[Token], int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_TREE_DEPTH:
            line, column = _first_position(node)
            raise ConditionSyntaxError(
                f"the condition is nested more than {MAX_TREE_DEPTH} deep", line=line, column=column
            )
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))


def _first_position(tree: Tree[Token]) -> tuple[int, int]:
    """Where the text of a subtree starts (without recursing: it may be very deep)."""
    node: Any = tree
    while isinstance(node, Tree) and node.children:
        node = node.children[0]
    return (node.line or 1, node.column or 1) if isinstance(node, Token) else (1, 1)


def _expected(names: Any) -> list[str]:
    order = list(TERMINAL_WORDS)
    known = [name for name in names if name in TERMINAL_WORDS]
    return [TERMINAL_WORDS[name] for name in sorted(set(known), key=order.index)]


def _syntax_error(text: str, error: UnexpectedInput) -> ConditionSyntaxError:
    if isinstance(error, UnexpectedCharacters):
        expected = _expected(error.allowed or ())
        start = error.pos_in_stream or 0
        found = text[start : start + 20].split()[0:1]
        what = f"unexpected {found[0]!r}" if found else "unexpected text"
        line, column = error.line, error.column
    elif isinstance(error, UnexpectedToken) and error.token.type != "$END":
        expected = _expected(_acceptable(error))
        what = f"unexpected {str(error.token)[:40]!r}"
        line, column = error.token.line or 1, error.token.column or 1
    else:
        names: Any = ()
        if isinstance(error, UnexpectedToken):
            names = _acceptable(error)
        elif isinstance(error, UnexpectedEOF):
            names = error.expected
        expected = _expected(names)
        what = "the condition ends too early"
        line, column = position(text, len(text.rstrip()))
    message = f"{what}; expected {_listing(expected)}" if expected else what
    return ConditionSyntaxError(message, line=line, column=column, expected=expected)


def _acceptable(error: UnexpectedToken) -> Any:
    """What the parser would really take here: LALR states shared between contexts
    list more than fits, so ask the parser itself when it can tell."""
    parser = error.interactive_parser
    if parser is None:
        return error.expected
    try:
        return parser.accepts()  # type: ignore[no-untyped-call]
    except Exception:  # pragma: no cover - the plain list is still right, only longer
        return error.expected


def _listing(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _at(token: Token, message: str) -> ConditionSyntaxError:
    return ConditionSyntaxError(message, line=token.line or 1, column=token.column or 1)


def _node(tree: Tree[Token]) -> Node:
    rule = tree.data
    children = tree.children
    if rule == "or_test":
        return Or(tuple(_node(child) for child in _trees(children)))
    if rule == "and_test":
        return And(tuple(_node(child) for child in _trees(children)))
    if rule == "negation":
        return Not(_node(_trees(children)[0]))
    if rule == "compare":
        left, operator, right = children
        assert isinstance(operator, Token)
        op = _OPERATORS.get(str(operator), str(operator))
        return Compare(op, _operand(left), _operand(right))
    if rule == "between":
        value, low, high = (_operand(child) for child in children)
        return Between(value, low, high)
    if rule in _TESTS:
        return Unary(_TESTS[rule], _operand(children[0]))
    if rule in _MATCHES:
        return Match(_MATCHES[rule], _operand(children[0]), _operand(children[1]))
    raise AssertionError(f"unknown rule {rule}")  # pragma: no cover - the grammar has no others


def _trees(children: list[Any]) -> list[Tree[Token]]:
    return [child for child in children if isinstance(child, Tree)]


def _operand(tree: Any) -> Operand:
    assert isinstance(tree, Tree)
    if tree.data == "field":
        token = tree.children[0]
        assert isinstance(token, Token)
        try:
            return Field(parse_path(str(token), scope_required=True, scopes=ALL_SCOPES))
        except ValueError as error:
            raise _at(token, str(error)) from None
    if tree.data == "call":
        return _call(tree)
    return Literal(_literal(tree))


def _call(tree: Tree[Token]) -> Call:
    name_token = tree.children[0]
    assert isinstance(name_token, Token)
    name = str(name_token).lower()
    function = FUNCTIONS.get(name)
    if function is None:
        known = ", ".join(f"{known}()" for known in FUNCTIONS)
        raise _at(name_token, f"unknown function {str(name_token)!r}; use one of {known}")
    args = tuple(_operand(child) for child in tree.children[1:] if child is not None)
    arities = sorted({len(params) for params in function.params})
    if len(args) not in arities:
        counts = " or ".join(str(count) for count in arities)
        raise _at(name_token, f"{name}() takes {counts} argument(s), not {len(args)}")
    literals = [(index, arg.value) for index, arg in enumerate(args) if isinstance(arg, Literal)]
    try:
        function.check(literals, len(args))
    except ValueError as error:
        raise _at(name_token, str(error)) from None
    return Call(name, args)


def _literal(tree: Tree[Token]) -> Any:
    rule = tree.data
    if rule == "true":
        return True
    if rule == "false":
        return False
    if rule == "null":
        return None
    if rule == "list":
        return tuple(_literal(child) for child in tree.children if isinstance(child, Tree))
    token = tree.children[0]
    assert isinstance(token, Token)
    text = str(token)
    try:
        if rule == "string":
            return unquote(text)
        if any(mark in text for mark in ".eE"):
            number = float(text)
            if number in (float("inf"), float("-inf")):
                raise ValueError(f"the number {text} is too large")
            return number
        return int(text)
    except ValueError as error:
        raise _at(token, str(error)) from None
