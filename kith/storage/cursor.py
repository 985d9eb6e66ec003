"""Opaque paging cursors: the sort key and id of the last row, so any page costs what
the first does and rows inserted meanwhile neither repeat nor vanish."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from kith.domain.errors import InvalidPayload


def encode_cursor(*key: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        key = None
    if not isinstance(key, list) or len(key) != arity:
        raise InvalidPayload.at(["query", "cursor"], "Invalid cursor", "value_error")
    return key
