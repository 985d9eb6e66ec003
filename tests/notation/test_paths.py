"""Dot paths: parsing, reading, writing and deleting, and key templates."""

from __future__ import annotations

from typing import Any

import pytest

from kith.notation import MISSING, delete_path, get_path, parse_path, set_path
from kith.notation.paths import ALL_SCOPES, path_reader
from kith.notation.templates import expand_keys


def test_parse_scope_and_keys() -> None:
    path = parse_path("profile@data.contact.email.main")
    assert path.scope == "profile"
    assert path.keys == ("data", "contact", "email", "main")
    assert path.dotted == "data.contact.email.main"
    assert str(path) == "profile@data.contact.email.main"
    assert parse_path("traits.plan").scope is None


def test_a_template_keeps_its_dots() -> None:
    path = parse_path("profile@interests.{event@properties.topic.name}")
    assert path.keys == ("interests", "{event@properties.topic.name}")


@pytest.mark.parametrize("text", ["", "profile@", "a..b", ".a", "a.", "nowhere@a.b"])
def test_bad_paths_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_path(text)


def test_scope_required() -> None:
    with pytest.raises(ValueError, match="needs a scope"):
        parse_path("data.pii", scope_required=True)


def test_get_distinguishes_missing_from_null() -> None:
    document: dict[str, Any] = {"a": {"b": None, "list": [{"x": 1}]}}
    assert get_path(document, "a.b") is None
    assert get_path(document, "a.c") is MISSING
    assert get_path(document, "a.b.c") is MISSING
    assert get_path(document, "a.list.0.x") == 1
    assert get_path(document, "a.list.5") is MISSING


def test_set_creates_the_way_and_replaces_non_dicts() -> None:
    document: dict[str, Any] = {"a": 5}
    set_path(document, "a.b.c", 1)
    set_path(document, "x.y", [1])
    assert document == {"a": {"b": {"c": 1}}, "x": {"y": [1]}}


def test_delete() -> None:
    document: dict[str, Any] = {"a": {"b": 1, "c": 2}}
    assert delete_path(document, "a.b") is True
    assert delete_path(document, "a.b") is False
    assert delete_path(document, "z.q") is False
    assert document == {"a": {"c": 2}}


def test_templates_expand_from_the_data() -> None:
    event = {"properties": {"topic": "Running Shoes", "nested": {"x": 1}, "dotted": "a.b"}}

    def read(path: Any) -> Any:
        return get_path(event, path.keys)

    assert expand_keys(("interests", "{event@properties.topic}"), read) == (
        "interests",
        "Running Shoes",
    )
    assert expand_keys(("i", "{event@properties.dotted}"), read) == ("i", "a_b")
    assert expand_keys(("i", "{event@properties.missing}"), read) is None
    assert expand_keys(("i", "{event@properties.nested}"), read) is None
    assert expand_keys(("plain",), read) == ("plain",)


def test_flow_scopes_only_when_asked() -> None:
    for text in ("payload@a", "memory@a.b", "flow@id"):
        with pytest.raises(ValueError, match="unknown scope"):
            parse_path(text)
        assert parse_path(text, scopes=ALL_SCOPES).scope == text.split("@")[0]


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ('profile@traits["favourite colour"]', ("traits", "favourite colour")),
        ("profile@['a.b'].c", ("a.b", "c")),
        ('profile@a["x"]["y"].z', ("a", "x", "y", "z")),
        ('profile@a.["x"]', ("a", "x")),
        ("event@items[0].sku", ("items", "0", "sku")),
        (r'event@["say \"hi\""]', ('say "hi"',)),
        ("profile@a[b]", ("a[b]",)),
    ],
)
def test_bracket_keys(text: str, keys: tuple[str, ...]) -> None:
    path = parse_path(text)
    assert path.keys == keys
    assert parse_path(path.notation) == path


@pytest.mark.parametrize("text", ['profile@a["x"]y', 'profile@["x"]..y', "profile@a.", '["x"].'])
def test_bad_bracket_paths(text: str) -> None:
    with pytest.raises(ValueError):
        parse_path(text)


def test_the_reader_walks_dicts_and_lists() -> None:
    read = path_reader(parse_path('profile@rows.1["the sku"]'))
    assert read({"profile": {"rows": [{}, {"the sku": "x"}]}}) == "x"
    assert read({"profile": {"rows": [{}]}}) is MISSING
    assert read({"profile": {"rows": {"1": {"the sku": "y"}}}}) == "y"
    assert read({"profile": None}) is MISSING
    assert read({}) is MISSING
    assert path_reader(parse_path("event@a.b"))({"event": {"a": "text"}}) is MISSING


def test_mappings_and_merge_keys_still_refuse_flow_scopes() -> None:
    """Only conditions and templates ask for payload@, memory@ and flow@; the
    places that write or index stored data refuse them as before."""
    from kith.domain.event_type import MappingRule
    from kith.domain.mapping import CompiledRule, RuleError
    from kith.identity.merge_keys import IdentitySettings, KeyRule, validate_settings

    for scope in ("payload", "memory", "flow"):
        with pytest.raises(RuleError, match="unknown scope"):
            CompiledRule.of(MappingRule(to=f"{scope}@traits.x", op="set", from_=1))
        rule = CompiledRule.of(MappingRule(to="profile@traits.x", op="set", from_=f"{scope}@a"))
        assert rule.source is None and rule.constant == f"{scope}@a"
        problems = validate_settings(IdentitySettings(keys=[KeyRule(path=f"{scope}@a")]))
        assert problems and "unknown scope" in problems[0][1]
