"""Compiling the conditions and templates of node configs, with errors a 422 can carry."""

from __future__ import annotations

from typing import Any

from kith.conditions import Condition, ConditionSyntaxError, compile_condition
from kith.notation.paths import ALL_SCOPES, DotPath, parse_path
from kith.notation.rendering import (
    ObjectTemplate,
    TemplateSyntaxError,
    TextTemplate,
    compile_object_template,
    compile_text_template,
)


def condition(text: str) -> Condition:
    try:
        return compile_condition(text)
    except ConditionSyntaxError as error:
        raise ValueError(f"condition: {error}") from None


def text_template(text: str) -> TextTemplate:
    try:
        return compile_text_template(text)
    except TemplateSyntaxError as error:
        raise ValueError(f"template: {error}") from None


def object_template(template: Any) -> ObjectTemplate:
    try:
        return compile_object_template(template)
    except TemplateSyntaxError as error:
        raise ValueError(f"template: {error}") from None


def field(text: str, *, scopes: frozenset[str] = frozenset({"profile"})) -> DotPath:
    """A path a node writes to (`profile@stats.counters.x`); ValueError if it is not
    one of `scopes`."""
    try:
        path = parse_path(text, scope_required=True, scopes=ALL_SCOPES)
    except ValueError as error:
        raise ValueError(f"field {text!r}: {error}") from None
    if path.scope not in scopes:
        allowed = ", ".join(f"{scope}@" for scope in sorted(scopes))
        raise ValueError(f"field {text!r}: a node may write only {allowed}")
    if not path.keys:
        raise ValueError(f"field {text!r}: names no field")
    return path
