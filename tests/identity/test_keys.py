"""Merge keys: normalised values, and which entries a profile calls for."""

from __future__ import annotations

import pytest

from kith.domain.profile import new_profile
from kith.identity.merge_keys import (
    DEFAULT_BLOCKED_VALUES,
    IdentitySettings,
    KeyRule,
    key_values,
    normalise_value,
    settings_from_document,
    validate_settings,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(" Ann@Example.COM ", "ann@example.com"), ("not-an-email", None), ("", None), (None, None)],
)
def test_email(raw: object, expected: str | None) -> None:
    assert normalise_value(raw, "email") == expected


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+49 30 1234567", None, "+49301234567"),
        ("0049 30 1234567", "DE", "+49301234567"),
        ("030 1234567", "DE", "+49301234567"),
        ("030 1234567", None, None),
        ("+1 (650) 253-0000", None, "+16502530000"),
        ("call me", None, None),
    ],
)
def test_phone_e164(raw: str, region: str | None, expected: str | None) -> None:
    assert normalise_value(raw, "phone", region) == expected


def test_text_is_trimmed_and_non_scalars_are_not_keys() -> None:
    assert normalise_value("  C-42 ", "trim") == "C-42"
    assert normalise_value(42, "trim") == "42"
    assert normalise_value({"a": 1}, "trim") is None
    assert normalise_value(True, "trim") is None


def test_default_keys_of_a_profile() -> None:
    profile = new_profile("p1", "2026-01-01T00:00:00Z")
    profile["data"]["contact"]["email"]["main"] = "Ann@Example.com"
    profile["data"]["contact"]["phone"]["main"] = "+44 20 7946 0958"
    profile["data"]["identifier"]["id"] = "crm-7"
    assert key_values(profile, IdentitySettings()) == [
        ("data.contact.email.main", "ann@example.com"),
        ("data.identifier.id", "crm-7"),
        ("data.contact.phone.main", "+442079460958"),
    ]


def test_a_list_gives_one_entry_per_item() -> None:
    profile = new_profile("p1", "2026-01-01T00:00:00Z")
    profile["traits"]["emails"] = ["a@x.io", "B@x.io"]
    settings = IdentitySettings(keys=[KeyRule(path="traits.emails", normalise="email")])
    assert key_values(profile, settings) == [
        ("traits.emails", "a@x.io"),
        ("traits.emails", "b@x.io"),
    ]


def test_settings_problems_are_located() -> None:
    settings = IdentitySettings(
        keys=[
            KeyRule(path="traits.a"),
            KeyRule(path="traits.a"),
            KeyRule(path="ids"),
            KeyRule(path="event@properties.x"),
            KeyRule(path="a..b"),
            KeyRule(path="traits.b", limit=0),
        ],
        max_profiles_per_merge=1,
        phone_region="XX",
    )
    locations = [loc for loc, _ in validate_settings(settings)]
    assert ("keys", 1, "path") in locations
    assert ("keys", 2, "path") in locations
    assert ("keys", 3, "path") in locations
    assert ("keys", 4, "path") in locations
    assert ("keys", 5, "limit") in locations
    assert ("max_profiles_per_merge",) in locations
    assert ("phone_region",) in locations
    assert validate_settings(IdentitySettings()) == []


def test_the_default_rules() -> None:
    rules = {(k.path, k.normalise, k.limit, k.priority) for k in IdentitySettings().keys}
    assert rules == {
        ("data.contact.email.main", "email", 5, 2),
        ("data.identifier.id", "trim", 1, 1),
        ("data.contact.phone.main", "phone", 5, 3),
    }
    blocked = IdentitySettings().blocked_values
    assert {"test@test.com", "null", "undefined", "none", "n/a", "0", "-", "unknown"} <= set(
        blocked
    )
    assert blocked == list(DEFAULT_BLOCKED_VALUES)
    assert IdentitySettings().max_profiles_per_merge == 10


def test_the_old_shape_is_converted() -> None:
    old = {
        "id": "identity",
        "merge_keys": [
            {"path": "data.identifier.id", "normalise": "text"},
            {"path": "traits.card", "normalise": "text"},
            {"path": "data.contact.email.main", "normalise": "email"},
        ],
        "phone_region": "DE",
    }
    settings = settings_from_document(old)
    assert settings.keys == [
        KeyRule(path="data.identifier.id", normalise="trim", limit=1, priority=1),
        KeyRule(path="traits.card", normalise="trim", limit=None, priority=10),
        KeyRule(path="data.contact.email.main", normalise="email", limit=5, priority=2),
    ]
    assert settings.phone_region == "DE"
    assert settings.blocked_values == list(DEFAULT_BLOCKED_VALUES)
    assert settings_from_document({}) == IdentitySettings()
    # today's shape accepts the old normaliser name too
    today = {"keys": [{"path": "traits.card", "normalise": "text", "limit": 2}]}
    assert settings_from_document(today).keys == [
        KeyRule(path="traits.card", normalise="trim", limit=2)
    ]
