"""`{event@properties.interest}` inside a path key: a key chosen by the data.

Used by mappings such as `profile@interests.{event@properties.interest}` so one
rule can count many interests."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from kith.notation.paths import MISSING, DotPath, parse_path

_TEMPLATE = re.compile(r"\{([^{}]+)\}")


def expand_keys(keys: tuple[str, ...], read: Callable[[DotPath], Any]) -> tuple[str, ...] | None:
    """Replace templates in keys with the values they point at; None if one is absent
    or is not a plain scalar (a key made of a dict would be meaningless)."""
    if not any("{" in key for key in keys):
        return keys
    expanded: list[str] = []
    for key in keys:
        failed = False

        def substitute(match: re.Match[str]) -> str:
            nonlocal failed
            value = read(parse_path(match.group(1)))
            if value is MISSING or value is None or isinstance(value, dict | list):
                failed = True
                return ""
            text = str(value).strip().replace(".", "_")
            failed = failed or not text
            return text

        result = _TEMPLATE.sub(substitute, key)
        if failed:
            return None
        expanded.append(result)
    return tuple(expanded)
