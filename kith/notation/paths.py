"""`profile@data.contact.email.main`: a scope, then keys separated by dots.

One module for the whole code base, so that a path means the same thing in a
mapping, a merge key, a condition and an API filter. Paths walk dicts only; a
segment of digits indexes a list when reading."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

SCOPES: Final = frozenset({"profile", "event", "session"})


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
        return ".".join(self.keys)

    def __str__(self) -> str:
        return f"{self.scope}@{self.dotted}" if self.scope else self.dotted


@lru_cache(maxsize=4096)
def parse_path(text: str, *, scope_required: bool = False) -> DotPath:
    """Parse `scope@a.b.c` or `a.b.c`; raise ValueError saying what is wrong."""
    scope: str | None = None
    body = text.strip()
    if "@" in body.split("{", 1)[0]:
        scope, body = body.split("@", 1)
        scope = scope.strip()
        if scope not in SCOPES:
            raise ValueError(f"unknown scope {scope!r}; use one of {sorted(SCOPES)}")
    elif scope_required:
        raise ValueError(f"{text!r} needs a scope, such as profile@ or event@")
    keys = _split(body) if body else ()
    if not keys or any(key == "" for key in keys):
        raise ValueError(f"{text!r} is not a dot path (empty key)")
    return DotPath(scope, keys)


def _split(body: str) -> tuple[str, ...]:
    """Split on dots, except inside `{...}` templates (which hold paths themselves)."""
    keys: list[str] = []
    depth = 0
    start = 0
    for index, char in enumerate(body):
        if char == "{":
            depth += 1
        elif char == "}":
            depth = max(0, depth - 1)
        elif char == "." and depth == 0:
            keys.append(body[start:index])
            start = index + 1
    keys.append(body[start:])
    return tuple(keys)


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
