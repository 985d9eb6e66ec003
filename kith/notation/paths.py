"""`profile@data.contact.email.main`: a scope, then keys separated by dots.

One module for the whole code base, so that a path means the same thing in a
mapping, a merge key, a condition, a template and an API filter. Paths walk
dicts; a segment of digits indexes a list when reading. A key that is not a plain
word is written in brackets, `profile@traits["favourite colour"]`, anywhere in
the path; `[0]` is a list index like `.0`.

Scopes: records (`profile`, `event`, `session`) are what stored data and mappings
name; conditions and templates inside a flow also read `payload`, `memory` and
`flow`. `parse_path` accepts only record scopes unless the caller says otherwise,
so a mapping or merge key can never point into a flow's working data."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

RECORD_SCOPES: Final = frozenset({"profile", "event", "session"})
FLOW_SCOPES: Final = frozenset({"payload", "memory", "flow"})
ALL_SCOPES: Final = RECORD_SCOPES | FLOW_SCOPES
SCOPES: Final = RECORD_SCOPES
"""The scopes `parse_path` accepts by default (kept for existing callers)."""

_PLAIN_KEY = re.compile(r"[\w\-]+")
_QUOTED_KEY = r"""\[\s*(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\d+)\s*\]"""


def field_pattern(scopes: frozenset[str] = ALL_SCOPES) -> str:
    """A regular expression for a whole written path with a scope (`profile@a["b c"].0`):
    what the condition grammar and templates recognise as one field."""
    names = "|".join(sorted(scopes))
    first = rf"(?:[\w\-]+|{_QUOTED_KEY})"
    step = rf"(?:\.[\w\-]+|\.?{_QUOTED_KEY})"
    return rf"(?:{names})@{first}{step}*"


_ESCAPES: Final = {
    '"': '"',
    "'": "'",
    "\\": "\\",
    "/": "/",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
}


class _Missing:
    """A value that is not there, distinct from a stored `null`."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()


@dataclass(slots=True, frozen=True)
class DotPath:
    scope: str | None
    keys: tuple[str, ...]

    @property
    def dotted(self) -> str:
        """The keys joined by dots: the name of a field (an identity kind, a change log key)."""
        return ".".join(self.keys)

    @property
    def notation(self) -> str:
        """The path as it is written, brackets where a key is not a plain word;
        `parse_path(p.notation) == p` for every path."""
        parts: list[str] = []
        for index, key in enumerate(self.keys):
            if _PLAIN_KEY.fullmatch(key):
                parts.append(f".{key}" if index else key)
            else:
                parts.append(f"[{quote(key)}]")
        body = "".join(parts)
        return f"{self.scope}@{body}" if self.scope else body

    def __str__(self) -> str:
        return f"{self.scope}@{self.dotted}" if self.scope else self.dotted


def quote(text: str) -> str:
    """`text` as a double-quoted string literal that `unquote` reads back."""
    out = ['"']
    for char in text:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char < " ":
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def unquote(literal: str) -> str:
    """The text of a single- or double-quoted literal with JSON-style escapes
    (plus `\\'`); raise ValueError naming a bad escape."""
    body = literal[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char != "\\":
            out.append(char)
            index += 1
            continue
        escape = body[index + 1 : index + 2]
        if escape in _ESCAPES:
            out.append(_ESCAPES[escape])
            index += 2
        elif escape == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[index + 2 : index + 6]):
            out.append(chr(int(body[index + 2 : index + 6], 16)))
            index += 6
        else:
            raise ValueError(f"invalid escape \\{escape} in {literal}")
    return "".join(out)


@lru_cache(maxsize=4096)
def parse_path(
    text: str, *, scope_required: bool = False, scopes: frozenset[str] = RECORD_SCOPES
) -> DotPath:
    """Parse `scope@a.b.c` or `a.b.c`; raise ValueError saying what is wrong.

    `scopes` are the scopes the caller accepts (record scopes unless it says so)."""
    scope: str | None = None
    body = text.strip()
    head = re.split(r"[{\[]", body, maxsplit=1)[0]
    if "@" in head:
        scope, body = body.split("@", 1)
        scope = scope.strip()
        if scope not in scopes:
            raise ValueError(f"unknown scope {scope!r}; use one of {sorted(scopes)}")
    elif scope_required:
        raise ValueError(f"{text!r} needs a scope, such as profile@ or event@")
    return DotPath(scope, _split(body, text))


def _split(body: str, text: str) -> tuple[str, ...]:
    """Split into keys at dots and bracket keys, except inside `{...}` templates
    (which hold paths themselves). A `[` opens a bracket key only before a quote or
    `digits]`, so a key that merely contains `[` keeps its old meaning."""
    keys: list[str] = []
    index = 0
    need_key = True  # at the start or right after a dot
    while index < len(body):
        bracket = _bracket_key(body, index)
        if bracket is not None:
            key, index = bracket
            keys.append(key)
            need_key = False
            if index < len(body) and body[index] not in ".[":
                raise ValueError(f"{text!r} is not a dot path (text after a bracket)")
        elif body[index] == ".":
            if need_key:
                raise ValueError(f"{text!r} is not a dot path (empty key)")
            need_key = True
            index += 1
        else:
            start, depth = index, 0
            while index < len(body):
                char = body[index]
                if char == "{":
                    depth += 1
                elif char == "}":
                    depth = max(0, depth - 1)
                elif depth == 0 and (char == "." or _bracket_key(body, index) is not None):
                    break
                index += 1
            keys.append(body[start:index])
            need_key = False
    if need_key:
        raise ValueError(f"{text!r} is not a dot path (empty key)")
    return tuple(keys)


_BRACKET = re.compile(r"""\[\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\d+)\s*\]""")


def _bracket_key(body: str, index: int) -> tuple[str, int] | None:
    """The key of a bracket segment starting at `index` and the index after it."""
    if body[index] != "[":
        return None
    match = _BRACKET.match(body, index)
    if match is None:
        return None
    literal = match.group(1)
    key = literal if literal[0].isdigit() else unquote(literal)
    return key, match.end()


def get_path(document: Any, keys: tuple[str, ...] | str) -> Any:
    """The value at `keys`, or MISSING."""
    if isinstance(keys, str):
        keys = parse_path(keys).keys
    node = document
    for key in keys:
        if isinstance(node, dict):
            if key not in node:
                return MISSING
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return MISSING
    return node


def path_reader(path: DotPath) -> Callable[[Mapping[str, Any]], Any]:
    """A function reading `path` from a mapping of scope name to document (MISSING
    when the scope or any key is absent); built once, called per evaluation.

    The fast route indexes straight through; only when that meets a list (a
    digit key) does it fall back to `get_path`, which indexes lists."""
    scope = path.scope or "event"
    keys = path.keys
    indexes_lists = any(key.isdigit() for key in keys)

    def read(documents: Mapping[str, Any]) -> Any:
        try:
            node = documents[scope]
            for key in keys:
                node = node[key]
            return node
        except (KeyError, TypeError, IndexError):
            if indexes_lists and scope in documents:
                return get_path(documents[scope], keys)
            return MISSING

    return read


def set_path(document: dict[str, Any], keys: tuple[str, ...] | str, value: Any) -> None:
    """Set the value at `keys`, creating dicts on the way; a non-dict in the way is replaced."""
    if isinstance(keys, str):
        keys = parse_path(keys).keys
    node = document
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[keys[-1]] = value


def delete_path(document: dict[str, Any], keys: tuple[str, ...] | str) -> bool:
    """Remove the key at `keys`; True if something was there."""
    if isinstance(keys, str):
        keys = parse_path(keys).keys
    parent = get_path(document, keys[:-1]) if len(keys) > 1 else document
    if isinstance(parent, dict) and keys[-1] in parent:
        del parent[keys[-1]]
        return True
    return False
