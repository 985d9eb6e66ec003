"""Text and object templates: one implementation for flow nodes, destination
mappings and e-mail bodies.

Text: `"Hi {{profile@data.pii.firstname|default:'there'}}"`. A placeholder holds a
field path; a missing or null value renders as its default, or as nothing.
Object: a JSON document whose string leaves that are exactly a field path
(`"profile@data.contact.email.main"`) become that field's value, of any type;
`"event@..."` is the whole event. Other strings are text templates. A key ending
in `?` (`"phone?": "profile@data.contact.phone.main"`) is left out, `?` and all,
when its value is missing or null.

Templates compile once (paths parsed, readers built) and render many times."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

import orjson

from kith.notation.paths import ALL_SCOPES, MISSING, field_pattern, parse_path, path_reader, unquote

Scope = Mapping[str, Any]
Reader = Callable[[Scope], Any]

MAX_TEMPLATE_DEPTH: Final = 64
"""Deepest nesting of an object template."""

_EXACT_PATH = re.compile(field_pattern())
_WHOLE_SCOPE = re.compile(r"(?:{})@\.\.\.".format("|".join(sorted(ALL_SCOPES))))
_QUOTED = re.compile(r""""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'""")
_DEFAULT = re.compile(r"default\s*:\s*(.*)", re.DOTALL)


class TemplateSyntaxError(ValueError):
    """A template that cannot be compiled; the message says where."""


def field_reader(text: str) -> Reader | None:
    """A reader when `text` is exactly a field path (`profile@a.b` or `event@...`), else None."""
    if _WHOLE_SCOPE.fullmatch(text):
        scope = text.split("@", 1)[0]
        return lambda documents: documents.get(scope, MISSING)
    if _EXACT_PATH.fullmatch(text):
        return path_reader(parse_path(text, scope_required=True, scopes=ALL_SCOPES))
    return None


def as_text(value: Any) -> str:
    """How a value reads inside text: strings as they are, JSON for everything else."""
    if isinstance(value, str):
        return value
    if value is None or value is MISSING:
        return ""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return str(value)


@dataclass(frozen=True, slots=True)
class _Placeholder:
    read: Reader
    default: str | None

    def render(self, scope: Scope) -> str:
        value = self.read(scope)
        if value is MISSING or value is None:
            return self.default or ""
        return as_text(value)


@dataclass(frozen=True, slots=True)
class TextTemplate:
    text: str
    parts: tuple[str | _Placeholder, ...]

    def render(self, scope: Scope) -> str:
        return "".join(part if isinstance(part, str) else part.render(scope) for part in self.parts)


@lru_cache(maxsize=1024)
def compile_text_template(text: str) -> TextTemplate:
    """The compiled form of a text template (cached by text); TemplateSyntaxError if broken."""
    parts: list[str | _Placeholder] = []
    index = 0
    while (start := text.find("{{", index)) != -1:
        end = _closing(text, start)
        if start > index:
            parts.append(text[index:start])
        parts.append(_placeholder(text, start, text[start + 2 : end]))
        index = end + 2
    if index < len(text) or not parts:
        parts.append(text[index:])
    return TextTemplate(text, tuple(parts))


def _where(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {line}, column {column}"


def _closing(text: str, start: int) -> int:
    """The index of the `}}` closing the placeholder at `start` (quotes may hold braces)."""
    index = start + 2
    while index < len(text):
        if text.startswith("}}", index):
            return index
        quoted = _QUOTED.match(text, index)
        index = quoted.end() if quoted else index + 1
    raise TemplateSyntaxError(f"{_where(text, start)}: '{{{{' is never closed by '}}}}'")


def _split_filters(inner: str) -> list[str]:
    pieces: list[str] = []
    current = 0
    index = 0
    while index < len(inner):
        quoted = _QUOTED.match(inner, index)
        if quoted:
            index = quoted.end()
        elif inner[index] == "|":
            pieces.append(inner[current:index])
            index += 1
            current = index
        else:
            index += 1
    pieces.append(inner[current:])
    return [piece.strip() for piece in pieces]


def _placeholder(text: str, start: int, inner: str) -> _Placeholder:
    path, *filters = _split_filters(inner)
    read = field_reader(path)
    if read is None:
        raise TemplateSyntaxError(
            f"{_where(text, start)}: {{{{{inner}}}}} needs a field path such as "
            "profile@data.pii.firstname"
        )
    default: str | None = None
    for name in filters:
        match = _DEFAULT.fullmatch(name)
        if match is None:
            raise TemplateSyntaxError(
                f"{_where(text, start)}: unknown filter {name!r}; use default:'text'"
            )
        value = match.group(1).strip()
        try:
            default = unquote(value) if value[:1] in ("'", '"') and len(value) > 1 else value
        except ValueError as error:
            raise TemplateSyntaxError(f"{_where(text, start)}: {error}") from None
    return _Placeholder(read, default)


def render_text(text: str, scope: Scope) -> str:
    return compile_text_template(text).render(scope)


Render = Callable[[Scope], Any]


@dataclass(frozen=True, slots=True)
class ObjectTemplate:
    template: Any
    _render: Render

    def render(self, scope: Scope) -> Any:
        """The document with its paths and text templates filled in; values taken
        from the scope are copies, so changing the result changes no document."""
        value = self._render(scope)
        return None if value is MISSING else value


def compile_object_template(template: Any) -> ObjectTemplate:
    """The compiled form of an object template; TemplateSyntaxError naming the place
    (`at body.headers.x`) of a broken text template."""
    return ObjectTemplate(template, _compile(template, (), 0))


def _compile(node: Any, where: tuple[str | int, ...], depth: int) -> Render:
    if depth > MAX_TEMPLATE_DEPTH:
        raise TemplateSyntaxError(
            f"at {_dotted(where)}: nested more than {MAX_TEMPLATE_DEPTH} deep"
        )
    if isinstance(node, dict):
        return _compile_dict(node, where, depth)
    if isinstance(node, list):
        items = [_compile(item, (*where, index), depth + 1) for index, item in enumerate(node)]

        def render_list(scope: Scope) -> Any:
            return [None if (value := item(scope)) is MISSING else value for item in items]

        return render_list
    if isinstance(node, str):
        read = field_reader(node)
        if read is not None:
            return lambda scope: _copied(read(scope))
        if "{{" in node:
            try:
                text = compile_text_template(node)
            except TemplateSyntaxError as error:
                raise TemplateSyntaxError(f"at {_dotted(where)}: {error}") from None
            return text.render
    return lambda scope: node


def _compile_dict(node: dict[Any, Any], where: tuple[str | int, ...], depth: int) -> Render:
    fields: list[tuple[Any, bool, Render]] = []
    for key, value in node.items():
        optional = isinstance(key, str) and key.endswith("?")
        name = key[:-1] if optional else key
        fields.append((name, optional, _compile(value, (*where, name), depth + 1)))

    def render_dict(scope: Scope) -> Any:
        out: dict[Any, Any] = {}
        for name, optional, render in fields:
            value = render(scope)
            if value is MISSING or value is None:
                if optional:
                    continue
                value = None
            out[name] = value
        return out

    return render_dict


def _copied(value: Any) -> Any:
    return copy.deepcopy(value) if isinstance(value, dict | list) else value


def _dotted(where: tuple[str | int, ...]) -> str:
    return ".".join(str(part) for part in where) or "the top"


def render_object(template: Any, scope: Scope) -> Any:
    return compile_object_template(template).render(scope)


def template_problem(template: Any) -> str | None:
    """None when `template` (a text or an object template) compiles, else what is wrong."""
    try:
        if isinstance(template, str):
            compile_text_template(template)
        else:
            compile_object_template(template)
    except TemplateSyntaxError as error:
        return str(error)
    return None
