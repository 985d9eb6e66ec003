"""Every example of docs/conditions.md gives the result the page states.

A ```example block holds `condition:` (which may run over several lines),
`documents:` (JSON) and `result:` (`true`, `false`, or `error: <start of the
message>`); a ```template block holds `template:`, `documents:` and `renders:`
(all JSON). Examples that read the clock run at NOW, as the page says."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from kith.conditions import (
    MAX_CONDITION_LENGTH,
    MAX_NESTING,
    ConditionSyntaxError,
    compile_condition,
)
from kith.notation.rendering import render_object, render_text

PAGE = Path(__file__).resolve().parents[2] / "docs" / "conditions.md"
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
_BLOCK = re.compile(r"^```(example|template)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def blocks(kind: str) -> list[dict[str, str]]:
    found = []
    for block_kind, body in _BLOCK.findall(PAGE.read_text()):
        if block_kind != kind:
            continue
        parts = re.split(r"^(condition|template|documents|result|renders):", body, flags=re.M)
        fields = {name: value for name, value in zip(parts[1::2], parts[2::2], strict=True)}
        found.append(
            {
                name: value.strip() if name != "condition" else value.strip(" \n")
                for name, value in fields.items()
            }
        )
    return found


EXAMPLES = blocks("example")
TEMPLATES = blocks("template")


def test_the_page_has_examples_of_every_form() -> None:
    page = PAGE.read_text()
    assert "2026-03-15T12:00:00Z" in page
    assert f"at most {MAX_CONDITION_LENGTH:,} characters" in page
    assert f"nested at most {MAX_NESTING}" in page
    assert len(EXAMPLES) >= 45 and len(TEMPLATES) >= 3
    text = " ".join(example["condition"] for example in EXAMPLES).upper()
    for form in [
        "==",
        " = ",
        "!=",
        "<>",
        ">",
        ">=",
        "<",
        "<=",
        " BETWEEN ",
        " EXISTS",
        " NOT EXISTS",
        " IS NULL",
        " IS NOT NULL",
        " EMPTY",
        " NOT EMPTY",
        " CONTAINS ",
        " STARTS WITH ",
        " ENDS WITH ",
        " IN [",
        " NOT IN [",
        "NOT ",
        " AND ",
        " OR ",
        "(",
        '["',
        ".0",
        "NOW()",
        "UTCNOW()",
        'NOW("',
        "NOW.OFFSET(",
        "DATETIME(",
        "DATETIME.OFFSET(",
        "DATETIME.TIMEZONE(",
        "DATETIME.FROM_TIMESTAMP(",
        "LOWERCASE(",
        "UPPERCASE(",
        "LEN(",
        "PAYLOAD@",
        "MEMORY@",
        "FLOW@",
        "SESSION@",
        "EVENT@",
        "PROFILE@",
        "'",
        "NULL",
        "TRUE",
    ]:
        assert form in text, form


@pytest.mark.parametrize(
    "example", EXAMPLES, ids=[example["condition"][:60] for example in EXAMPLES]
)
def test_condition_example(example: dict[str, str]) -> None:
    documents: dict[str, Any] = orjson.loads(example["documents"])
    result = example["result"]
    if result.startswith("error:"):
        with pytest.raises(ConditionSyntaxError) as caught:
            compile_condition(example["condition"])
        assert str(caught.value).startswith(result.removeprefix("error:").strip())
        return
    assert result in ("true", "false")
    assert compile_condition(example["condition"]).evaluate(documents, now=NOW) is (
        result == "true"
    )


@pytest.mark.parametrize("example", TEMPLATES, ids=[t["template"][:60] for t in TEMPLATES])
def test_template_example(example: dict[str, str]) -> None:
    template = orjson.loads(example["template"])
    documents = orjson.loads(example["documents"])
    expected = orjson.loads(example["renders"])
    if isinstance(template, str):
        assert render_text(template, documents) == expected
    else:
        assert render_object(template, documents) == expected
