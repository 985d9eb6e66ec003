"""The compiled identity rules: blocked values, limits and the gained keys of a profile."""

from __future__ import annotations

import pytest

from kith.domain.profile import new_profile
from kith.identity.merge_keys import IdentitySettings, KeyRule
from kith.identity.rules import IdentityRules, gained_keys

EMAIL = "data.contact.email.main"
PHONE = "data.contact.phone.main"
CID = "data.identifier.id"


@pytest.fixture
def rules() -> IdentityRules:
    return IdentityRules.of(IdentitySettings())


@pytest.mark.parametrize(
    ("kind", "value", "blocked"),
    [
        (EMAIL, "test@test.com", True),
        (EMAIL, "example@example.com", True),
        (EMAIL, "ann@example.com", False),
        (CID, "null", True),
        (CID, "NULL", True),  # case does not matter
        (CID, "Undefined", True),
        (CID, "N/A", True),
        (CID, "0", True),
        (CID, "-", True),
        (CID, "crm-7", False),
        (PHONE, "+442079460958", False),
        ("traits.unknown", "null", False),  # not a key: nothing to block
    ],
)
def test_blocked_values(rules: IdentityRules, kind: str, value: str, blocked: bool) -> None:
    assert rules.is_blocked(kind, value) is blocked


def test_blocked_values_are_normalised_the_keys_way() -> None:
    settings = IdentitySettings(
        blocked_values=[" TEST@Test.com ", "+44 20 7946 0958"], phone_region="GB"
    )
    rules = IdentityRules.of(settings)
    assert rules.is_blocked(EMAIL, "test@test.com")
    assert rules.is_blocked(PHONE, "+442079460958")  # written differently, same number
    assert not rules.is_blocked(CID, "null")  # the defaults were replaced


def test_a_blocked_value_is_not_a_claim(rules: IdentityRules) -> None:
    profile = new_profile("p1", "2026-01-01T00:00:00Z")
    before = set(rules.key_values(profile))
    profile["data"]["contact"]["email"]["main"] = " Test@Test.com "
    profile["data"]["identifier"]["id"] = "c-1"
    gained = gained_keys(before, profile, rules)
    assert gained.claims == [(CID, "c-1")]
    assert gained.blocked == [EMAIL]
    # a value the profile had before is not gained again
    assert gained_keys(set(rules.key_values(profile)), profile, rules).claims == []


def test_limits_and_ranks(rules: IdentityRules) -> None:
    assert rules.limit(EMAIL) == 5 and rules.limit(CID) == 1 and rules.limit(PHONE) == 5
    assert rules.limit("id") is None  # ids are never bounded: the 25th device merges
    assert sorted([PHONE, EMAIL, CID, "id"], key=rules.rank) == [CID, EMAIL, PHONE, "id"]


def test_violation_names_the_highest_priority_key(rules: IdentityRules) -> None:
    mine = {CID: {"a"}, EMAIL: {"1@x.io", "2@x.io", "3@x.io"}}
    theirs = {CID: {"b"}, EMAIL: {"4@x.io", "5@x.io", "6@x.io"}}
    assert rules.violation(mine, theirs) == CID
    assert rules.violation(mine, {EMAIL: {"4@x.io", "5@x.io", "6@x.io"}}) == EMAIL
    assert rules.violation(mine, {CID: {"a"}, EMAIL: {"1@x.io"}}) is None
    assert rules.violation({}, {CID: {"a"}}) is None


def test_a_limit_already_broken_does_not_block_what_does_not_make_it_worse() -> None:
    rules = IdentityRules.of(IdentitySettings(keys=[KeyRule(path=CID, limit=1)]))
    before_the_limit = {CID: {"a", "b"}}
    assert rules.violation(before_the_limit, {CID: {"a"}}) is None
    assert rules.violation(before_the_limit, {CID: {"c"}}) == CID
