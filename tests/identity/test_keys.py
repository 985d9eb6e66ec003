"""Merge keys: normalised values, and which entries a profile calls for."""

from __future__ import annotations

import pytest

from kith.domain.profile import new_profile
from kith.identity.merge_keys import (
    IdentitySettings,
    MergeKey,
    key_values,
    normalise_value,
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
    assert normalise_value("  C-42 ", "text") == "C-42"
    assert normalise_value(42, "text") == "42"
    assert normalise_value({"a": 1}, "text") is None
    assert normalise_value(True, "text") is None


def test_default_keys_of_a_profile() -> None:
    profile = new_profile("p1", "2026-01-01T00:00:00Z")
    profile["data"]["contact"]["email"]["main"] = "Ann@Example.com"
    profile["data"]["contact"]["phone"]["main"] = "+44 20 7946 0958"
    profile["data"]["identifier"]["id"] = "crm-7"
    assert key_values(profile, IdentitySettings()) == [
        ("data.contact.email.main", "ann@example.com"),
        ("data.contact.phone.main", "+442079460958"),
        ("data.identifier.id", "crm-7"),
    ]


def test_a_list_gives_one_entry_per_item() -> None:
    profile = new_profile("p1", "2026-01-01T00:00:00Z")
    profile["traits"]["emails"] = ["a@x.io", "B@x.io"]
    settings = IdentitySettings(merge_keys=[MergeKey(path="traits.emails", normalise="email")])
    assert key_values(profile, settings) == [
        ("traits.emails", "a@x.io"),
        ("traits.emails", "b@x.io"),
    ]


def test_settings_problems_are_located() -> None:
    settings = IdentitySettings(
        merge_keys=[
            MergeKey(path="traits.a"),
            MergeKey(path="traits.a"),
            MergeKey(path="ids"),
            MergeKey(path="event@properties.x"),
            MergeKey(path="a..b"),
        ],
        phone_region="XX",
    )
    locations = [loc for loc, _ in validate_settings(settings)]
    assert ("merge_keys", 1, "path") in locations
    assert ("merge_keys", 2, "path") in locations
    assert ("merge_keys", 3, "path") in locations
    assert ("merge_keys", 4, "path") in locations
    assert ("phone_region",) in locations
    assert validate_settings(IdentitySettings()) == []
