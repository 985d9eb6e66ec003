"""The one error a condition's text can cause: where it is wrong and what would fit."""

from __future__ import annotations


class ConditionSyntaxError(ValueError):
    """A condition that cannot be parsed (or is too long or too deeply nested).

    `line` and `column` count from 1; `expected` names what would have fitted
    there, in words a user can act on ("a field such as profile@a.b", "AND")."""

    def __init__(self, message: str, *, line: int, column: int, expected: list[str] | None = None):
        self.line = line
        self.column = column
        self.expected = list(expected or [])
        self.reason = message
        super().__init__(f"line {line}, column {column}: {message}")


def position(text: str, offset: int) -> tuple[int, int]:
    """(line, column) of a character offset, both from 1."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column
