"""The identity rules' decisions: which claims a profile makes, which profiles it joins."""

from __future__ import annotations

from kith.identity.decisions import Refusal, decide_claims, merge_refusals
from kith.identity.merge_keys import IdentitySettings, KeyRule
from kith.identity.rules import Entry, IdentityRules

EMAIL = "data.contact.email.main"
PHONE = "data.contact.phone.main"
CID = "data.identifier.id"
RULES = IdentityRules.of(IdentitySettings())


def test_unowned_values_are_claimed() -> None:
    decision = decide_claims("p", [(EMAIL, "a@x.io"), (CID, "c1")], {}, {"p": []}, RULES)
    assert decision.claimed == [(CID, "c1"), (EMAIL, "a@x.io")]  # priority order
    assert decision.merge == [] and decision.refusals == []


def test_a_shared_email_joins_its_owner() -> None:
    owners = {(EMAIL, "a@x.io"): "o"}
    owned: dict[str, list[Entry]] = {"p": [], "o": [(EMAIL, "a@x.io"), (CID, "c1")]}
    decision = decide_claims("p", [(EMAIL, "a@x.io")], owners, owned, RULES)
    assert decision.merge == ["o"]
    assert decision.claimed == [(EMAIL, "a@x.io")]


def test_a_second_customer_id_is_not_claimed() -> None:
    decision = decide_claims("p", [(CID, "c2")], {}, {"p": [(CID, "c1")]}, RULES)
    assert decision.claimed == []
    assert decision.refusals == [Refusal(CID, "limit", None)]
    assert "data.identifier.id allows 1 value(s)" in decision.refusals[0].warning(RULES)


def test_the_customer_id_wins_over_a_shared_email() -> None:
    """Two people share an e-mail but each has a customer id: no merge."""
    owners = {(EMAIL, "home@x.io"): "o"}
    owned: dict[str, list[Entry]] = {
        "p": [],
        "o": [(EMAIL, "home@x.io"), (CID, "c1")],
    }
    claims = [(EMAIL, "home@x.io"), (CID, "c2")]
    decision = decide_claims("p", claims, owners, owned, RULES)
    assert decision.merge == []
    assert decision.claimed == [(CID, "c2")]  # its own customer id it keeps
    assert decision.refusals == [Refusal(CID, "limit", "o", EMAIL)]
    warning = decision.refusals[0].warning(RULES)
    assert "data.identifier.id" in warning and "limit" in warning
    assert "o" not in warning.split() and "home@x.io" not in warning


def test_priority_decides_which_owner_joins() -> None:
    """The customer id's owner joins; the e-mail's owner, with another id, does not."""
    owners = {(CID, "c1"): "by-id", (EMAIL, "a@x.io"): "by-email"}
    owned: dict[str, list[Entry]] = {
        "p": [],
        "by-id": [(CID, "c1")],
        "by-email": [(EMAIL, "a@x.io"), (CID, "c9")],
    }
    claims = [(EMAIL, "a@x.io"), (CID, "c1")]
    decision = decide_claims("p", claims, owners, owned, RULES)
    assert decision.merge == ["by-id"]
    assert decision.refusals == [Refusal(CID, "limit", "by-email", EMAIL)]


def test_one_refusal_per_other_profile() -> None:
    owners = {(EMAIL, "a@x.io"): "o", (PHONE, "+442079460958"): "o"}
    owned: dict[str, list[Entry]] = {
        "p": [(CID, "c1")],
        "o": [(EMAIL, "a@x.io"), (PHONE, "+442079460958"), (CID, "c2")],
    }
    decision = decide_claims("p", list(owners), owners, owned, RULES)
    assert decision.refusals == [Refusal(CID, "limit", "o", EMAIL)]
    assert decision.claimed == []


def test_ids_are_never_limited() -> None:
    """The 25th device of a person merges: only key values are counted."""
    owners = {(EMAIL, "a@x.io"): "o"}
    owned: dict[str, list[Entry]] = {"p": [], "o": [(EMAIL, "a@x.io")]}
    decision = decide_claims("p", [(EMAIL, "a@x.io")], owners, owned, RULES)
    assert decision.merge == ["o"]


def test_too_many_profiles_at_once_join_none() -> None:
    rules = IdentityRules.of(
        IdentitySettings(keys=[KeyRule(path="traits.cards", limit=None)], max_profiles_per_merge=3)
    )
    claims = [("traits.cards", f"card-{n}") for n in range(4)]
    owners = {claim: f"o{n}" for n, claim in enumerate(claims[:3])}
    owned: dict[str, list[Entry]] = {"p": [], **{owner: [c] for c, owner in owners.items()}}
    decision = decide_claims("p", claims, owners, owned, rules)
    assert decision.merge == []
    assert decision.claimed == [("traits.cards", "card-3")]  # nobody else owned that one
    assert [(r.rule, r.profile, r.key) for r in decision.refusals] == [
        ("max_profiles_per_merge", f"o{n}", "traits.cards") for n in range(3)
    ]
    # one fewer is allowed
    fewer = decide_claims("p", claims[1:], owners, owned, rules)
    assert fewer.merge == ["o1", "o2"]


def test_back_office_merges_follow_the_same_limits() -> None:
    owned: dict[str, list[Entry]] = {
        "t": [(CID, "c1")],
        "a": [(EMAIL, "a@x.io")],
        "b": [(CID, "c2")],
    }
    assert merge_refusals("t", ["a"], owned, RULES) == []
    assert merge_refusals("t", ["a", "b"], owned, RULES) == [Refusal(CID, "limit", "b")]
    many = [f"p{n}" for n in range(10)]
    refused = merge_refusals("t", many, {}, RULES)
    assert {r.rule for r in refused} == {"max_profiles_per_merge"}
    assert [r.profile for r in refused] == many
