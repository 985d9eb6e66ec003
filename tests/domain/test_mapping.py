"""Mapping ops, one by one, and the field change log they write."""

from __future__ import annotations

from typing import Any

import pytest

from kith.domain.event_type import MappingRule
from kith.domain.mapping import CompiledRule, MappingContext, RuleError, apply_mapping
from kith.domain.profile import new_profile

NOW = "2026-11-29T10:00:00.000000Z"


def run(profile: dict[str, Any], properties: dict[str, Any], *rules: MappingRule) -> list[str]:
    event = {"id": "ev-1", "properties": properties, "metadata": {"time": {"create": NOW}}}
    context = MappingContext(event=event, profile=profile, session=None)
    compiled = [CompiledRule.of(rule) for rule in rules]
    return apply_mapping(compiled, context, event_id="ev-1", now=NOW)


def rule(source: Any, to: str, op: str = "set") -> MappingRule:
    return MappingRule(from_=source, to=to, op=op)  # type: ignore[arg-type]


@pytest.fixture
def profile() -> dict[str, Any]:
    return new_profile("p1", NOW)


def test_set_copies_and_logs_the_change(profile: dict[str, Any]) -> None:
    changed = run(
        profile, {"email": "a@b.c"}, rule("event@properties.email", "profile@traits.mail")
    )
    assert changed == ["traits.mail"]
    assert profile["traits"]["mail"] == "a@b.c"
    assert profile["metadata"]["fields"]["traits.mail"] == {"time": NOW, "event": "ev-1"}


def test_set_of_the_same_value_changes_nothing(profile: dict[str, Any]) -> None:
    profile["traits"]["mail"] = "a@b.c"
    assert run(profile, {"m": "a@b.c"}, rule("event@properties.m", "profile@traits.mail")) == []
    assert "fields" not in profile["metadata"]


def test_contact_details_and_identifiers_are_stored_trimmed(profile: dict[str, Any]) -> None:
    properties = {"email": "  Ann@Example.com\t", "id": " c-1 ", "tags": [" a ", 1], "x": " y "}
    run(
        profile,
        properties,
        rule("event@properties.email", "profile@data.contact.email.main"),
        rule("event@properties.id", "profile@data.identifier.id"),
        rule("event@properties.tags", "profile@data.contact.tags"),
        rule("event@properties.x", "profile@traits.x"),
    )
    assert profile["data"]["contact"]["email"]["main"] == "Ann@Example.com"
    assert profile["data"]["identifier"]["id"] == "c-1"
    assert profile["data"]["contact"]["tags"] == ["a", 1]
    assert profile["traits"]["x"] == " y "  # elsewhere the value is kept as sent
    # the same address with other spaces is no change
    assert (
        run(
            profile,
            {"e": "Ann@Example.com "},
            rule("event@properties.e", "profile@data.contact.email.main"),
        )
        == []
    )


def test_a_missing_source_skips_the_rule(profile: dict[str, Any]) -> None:
    assert run(profile, {}, rule("event@properties.email", "profile@traits.mail")) == []
    assert "mail" not in profile["traits"]


def test_constants(profile: dict[str, Any]) -> None:
    run(profile, {}, rule("gold", "profile@traits.tier"), rule(False, "profile@traits.vip"))
    assert profile["traits"] == {"tier": "gold", "vip": False}


def test_set_if_missing_writes_only_when_absent_or_empty(profile: dict[str, Any]) -> None:
    first = rule("event@properties.name", "profile@data.pii.firstname", "set_if_missing")
    assert run(profile, {"name": "Ann"}, first) == ["data.pii.firstname"]
    assert run(profile, {"name": "Bob"}, first) == []
    assert profile["data"]["pii"]["firstname"] == "Ann"
    profile["data"]["pii"]["lastname"] = ""
    last = rule("event@properties.name", "profile@data.pii.lastname", "set_if_missing")
    assert run(profile, {"name": "Lee"}, last) == ["data.pii.lastname"]


def test_append_unique(profile: dict[str, Any]) -> None:
    op = rule("event@properties.tags", "profile@traits.tags", "append_unique")
    run(profile, {"tags": ["a", "b"]}, op)
    run(profile, {"tags": ["b", "c"]}, op)
    assert run(profile, {"tags": "a"}, op) == []
    assert profile["traits"]["tags"] == ["a", "b", "c"]


def test_increment_by_one_or_by_the_value(profile: dict[str, Any]) -> None:
    run(profile, {}, rule(None, "profile@stats.views", "increment"))
    run(profile, {"n": 5}, rule("event@properties.n", "profile@stats.views", "increment"))
    assert profile["stats"]["views"] == 6


def test_add_numbers_and_numeric_strings(profile: dict[str, Any]) -> None:
    op = rule("event@properties.total", "profile@data.metrics.ltv", "add")
    run(profile, {"total": 10.5}, op)
    run(profile, {"total": "4.5"}, op)
    assert run(profile, {"total": "lots"}, op) == []
    assert profile["data"]["metrics"]["ltv"] == 15.0


def test_add_does_not_overwrite_a_non_number(profile: dict[str, Any]) -> None:
    profile["traits"]["score"] = "high"
    assert run(profile, {"n": 1}, rule("event@properties.n", "profile@traits.score", "add")) == []
    assert profile["traits"]["score"] == "high"


def test_remove(profile: dict[str, Any]) -> None:
    profile["data"]["preferences"]["cart"] = ["p1", "p2", "p3"]
    op = rule("event@properties.id", "profile@data.preferences.cart", "remove")
    assert run(profile, {"id": "p2"}, op) == ["data.preferences.cart"]
    assert run(profile, {"id": "p9"}, op) == []
    assert profile["data"]["preferences"]["cart"] == ["p1", "p3"]


def test_delete(profile: dict[str, Any]) -> None:
    profile["traits"]["old"] = 1
    assert run(profile, {}, rule(None, "profile@traits.old", "delete")) == ["traits.old"]
    assert "old" not in profile["traits"]


def test_templated_target(profile: dict[str, Any]) -> None:
    op = rule("event@properties.value", "profile@interests.{event@properties.topic}", "increment")
    run(profile, {"topic": "running"}, op)
    run(profile, {"topic": "running", "value": 2}, op)
    assert profile["interests"] == {"running": 3}


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (rule("x", "event@properties.a"), "to"),
        (rule("x", "traits.a"), "to"),
        (rule("x", "profile@ids"), "to"),
        (rule("x", "profile@metadata.time"), "to"),
        (rule("event@properties..a", "profile@traits.a"), "from"),
        (rule(None, "profile@traits.a", "set"), "from"),
    ],
)
def test_unusable_rules_name_the_field(bad: MappingRule, field: str) -> None:
    with pytest.raises(RuleError) as caught:
        CompiledRule.of(bad)
    assert caught.value.field == field
