"""What admin request models share, so that each accepts exactly what its JSON Schema says.

Pydantic's default (lax) mode coerces: `"yes"` becomes `true`, `"5"` becomes `5`.
A client generated from the OpenAPI document, or a person reading it, would be
told one thing and served another, and a typo (`"enabled": "false"`, a non-empty
string) would silently mean the opposite. Request bodies are therefore strict;
the two places where strict pydantic and JSON Schema part ways are bridged here:
a whole number written `5.0` is an `integer` to JSON Schema (`Whole`), and
FastAPI validates the decoded JSON as Python objects, where a strict enum would
want an enum instance rather than its JSON string (`Lax`). Also here: patterns
spelled so that every regex engine reads them alike (`NOT_BLANK`), and the check
that free-form JSON can be stored at all (`Storable`)."""

from __future__ import annotations

from typing import Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from kith.domain.errors import InvalidPayload
from kith.domain.payload import check_json


class RequestBody(BaseModel):
    """Strict types; unknown fields ignored (so PUT takes what GET answers)."""

    model_config = ConfigDict(strict=True, extra="ignore")


def _whole(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Whole = BeforeValidator(_whole)
"""An `integer` as JSON Schema means it: `5` and `5.0`, not `5.5`, `"5"` or `true`.

Use it last, after the constraints (`Annotated[int, Field(ge=1), Whole]`): put
before them it hides them from the schema (pydantic then writes `ge`, which no
JSON Schema tool reads, instead of `minimum`)."""

Lax = Field(strict=False)
"""For enum fields of a strict model: lax mode on an enum accepts exactly its values."""

WHITESPACE = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
"""Exactly what Python's `str.strip()` removes, as a regex character class body.

Spelled out because `\\s` means three different sets to Python, to JavaScript
(what most JSON Schema validators and generators use) and to Rust (pydantic's)."""

NOT_BLANK = f"[^{WHITESPACE}]"
"""A pattern (unanchored, as JSON Schema patterns are) for text that is not blank
once trimmed: ids and names Kith trims before use."""

MAX_DOCUMENT_DEPTH = 64
"""Deepest free-form JSON (an event type's `schema`, a mapping constant) stored."""


def _storable(value: Any) -> Any:
    """Refuse what no store serialises: integers past 64 bits, absurd nesting.

    The same check, and the same error types, as the collector's (`too_deep`,
    `int_range`); JSON Schema has no word for either."""
    try:
        # wrapped, so that a bare number is checked too; the value stays at level 1
        check_json([value], MAX_DOCUMENT_DEPTH, [], level=0)
    except InvalidPayload as exc:
        assert isinstance(exc.detail, list)  # check_json names one problem
        problem = exc.detail[0]
        raise PydanticCustomError(problem["type"], problem["msg"]) from None
    return value


Storable = AfterValidator(_storable)
"""For free-form JSON fields: `Annotated[Any, Storable]` (see `_storable`)."""
