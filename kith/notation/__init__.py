"""Dot paths into nested documents, shared by event types, identity and the API."""

from kith.notation.paths import (
    MISSING,
    DotPath,
    delete_path,
    get_path,
    parse_path,
    set_path,
)

__all__ = ["MISSING", "DotPath", "delete_path", "get_path", "parse_path", "set_path"]
