"""Documentation stays true: every setting is documented."""

from __future__ import annotations

from pathlib import Path

from kith.config import Settings
from kith.domain.event_library import BUILTIN_EVENT_TYPES

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_is_documented() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    for name in Settings.model_fields:
        assert f"`KITH_{name.upper()}`" in text, name


def test_readme_opens_with_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    assert text.index("make run") < text.index("make test") < text.index("## In 30 seconds")


def test_every_builtin_event_type_is_documented() -> None:
    text = (ROOT / "docs" / "event-types.md").read_text()
    for name in BUILTIN_EVENT_TYPES:
        assert f"`{name}`" in text, name
