"""The grammar of conditions (lark, LALR) and the one parser built from it.

Precedence is the usual NOT > AND > OR, so `a AND b OR c` reads `(a AND b) OR c`;
Tracardi refused that form and asked for brackets, which still work. A field is
one token whose text `kith.notation.paths.parse_path` decodes, so a path means
the same here as everywhere else. Keywords are case-insensitive."""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from lark import Lark

from kith.notation.paths import field_pattern

GRAMMAR: Final = rf"""
?start: or_test

?or_test: and_test (_OR and_test)*
?and_test: not_test (_AND not_test)*
?not_test: _NOT not_test -> negation
         | _LPAR or_test _RPAR
         | predicate

predicate: operand COMPARE operand -> compare
         | operand _BETWEEN operand _AND operand -> between
         | operand _EXISTS -> exists
         | operand _NOT _EXISTS -> not_exists
         | operand _IS _NULL -> is_null
         | operand _IS _NOT _NULL -> is_not_null
         | operand _EMPTY -> empty
         | operand _NOT _EMPTY -> not_empty
         | operand _CONTAINS operand -> contains
         | operand _STARTS _WITH operand -> starts_with
         | operand _ENDS _WITH operand -> ends_with
         | operand _IN operand -> in_list
         | operand _NOT _IN operand -> not_in_list

?operand: FIELD -> field
       | FUNCTION _LPAR [operand (_COMMA operand)*] _RPAR -> call
       | literal

literal: STRING -> string
       | NUMBER -> number
       | _TRUE -> true
       | _FALSE -> false
       | _NULL -> null
       | _LSQB [literal (_COMMA literal)*] _RSQB -> list

FIELD.3: /{field_pattern()}/
FUNCTION.1: /[a-z_]\w*(?:\.[a-z_]\w*)*(?=\s*\()/i
STRING.2: /"(?:[^"\\]|\\[\s\S])*"|'(?:[^'\\]|\\[\s\S])*'/
NUMBER.2: /[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/
COMPARE.2: /==|!=|<>|<=|>=|=>|=<|=|<|>/

_OR.2: /or\b/i
_AND.2: /and\b/i
_NOT.2: /not\b/i
_BETWEEN.2: /between\b/i
_EXISTS.2: /exists\b/i
_IS.2: /is\b/i
_NULL.2: /null\b/i
_EMPTY.2: /empty\b/i
_CONTAINS.2: /contains\b/i
_STARTS.2: /starts\b/i
_ENDS.2: /ends\b/i
_WITH.2: /with\b/i
_IN.2: /in\b/i
_TRUE.2: /true\b/i
_FALSE.2: /false\b/i
_LPAR: "("
_RPAR: ")"
_LSQB: "["
_RSQB: "]"
_COMMA: ","

%import common.WS
%ignore WS
"""

TERMINAL_WORDS: Final = {
    "FIELD": "a field such as profile@a.b",
    "FUNCTION": "a function such as now()",
    "STRING": "a string",
    "NUMBER": "a number",
    "COMPARE": "a comparison (== != > >= < <=)",
    "_OR": "OR",
    "_AND": "AND",
    "_NOT": "NOT",
    "_BETWEEN": "BETWEEN",
    "_EXISTS": "EXISTS",
    "_IS": "IS",
    "_NULL": "null",
    "_EMPTY": "EMPTY",
    "_CONTAINS": "CONTAINS",
    "_STARTS": "STARTS WITH",
    "_ENDS": "ENDS WITH",
    "_WITH": "WITH",
    "_IN": "IN",
    "_TRUE": "true",
    "_FALSE": "false",
    "_LPAR": "(",
    "_RPAR": ")",
    "_LSQB": "[",
    "_RSQB": "]",
    "_COMMA": ",",
    "$END": "the end of the condition",
}


@lru_cache(maxsize=1)
def condition_parser() -> Lark:
    """The LALR parser, built on first use (a few milliseconds) and kept."""
    return Lark(GRAMMAR, parser="lalr", lexer="contextual", maybe_placeholders=False)
