"""Which claims a profile may make and which profiles it may join: the identity rules.

Pure decisions over what the identity index says (who owns which value), so that
the collector and the back-office merge apply exactly the same rules:

* a blocked value never claims and never merges (see `rules.gained_keys`);
* claims are settled in priority order (lower `priority` first); a claim owned by
  nobody is taken unless the profile already owns `limit` values of its key; a
  claim owned by another profile joins that profile unless the union of what the
  two own would break a key's `limit` (that key is named in the refusal);
* a request that would join more than `max_profiles_per_merge` profiles joins none.

A refusal names the key, the rule and the other profile, never the value."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from kith.identity.rules import Entry, IdentityRules, Owned, owned_of

Rule = Literal["limit", "blocked", "max_profiles_per_merge"]


@dataclass(frozen=True, slots=True)
class Refusal:
    key: str | None
    """The key whose rule refused: the limit that would break, the blocked value's key,
    or the key that linked the profiles (None for a back-office merge)."""
    rule: Rule
    profile: str | None
    """The other profile, or None when the refused claim had no other owner."""
    via: str | None = None
    """The key whose shared value would have joined the two profiles."""

    def properties(self) -> dict[str, Any]:
        return {"key": self.key, "rule": self.rule, "profile": self.profile, "via": self.via}

    def warning(self, rules: IdentityRules) -> str:
        """For the collector's answer: no value and no other profile's id, both personal."""
        if self.rule == "blocked":
            return f"{self.key} not used to identify: its value is blocked (rule: blocked)"
        if self.rule == "max_profiles_per_merge":
            return (
                f"Not merged: the request would join more than {rules.max_profiles}"
                " profiles (rule: max_profiles_per_merge)"
            )
        allowed = f"{self.key} allows {rules.limit(self.key or '')} value(s) per profile"
        if self.profile is None:
            return f"{self.key} not claimed: {allowed} (rule: limit)"
        return f"Not merged through {self.via}: {allowed} (rule: limit)"


@dataclass(slots=True)
class ClaimDecision:
    claimed: list[Entry] = field(default_factory=list)
    """Entries the (surviving) profile takes in the index, in settling order."""
    merge: list[str] = field(default_factory=list)
    """Other profiles to join, in the order they were accepted."""
    refusals: list[Refusal] = field(default_factory=list)


def _settle(
    asking: str,
    claims: Sequence[Entry],
    owners: Mapping[Entry, str],
    owned: Mapping[str, Sequence[Entry]],
    rules: IdentityRules,
    *,
    merging: bool,
) -> ClaimDecision:
    decision = ClaimDecision()
    group: Owned = owned_of(owned.get(asking, ()))
    members = {asking}
    refused: set[str] = set()
    for kind, value in sorted(set(claims), key=lambda entry: (rules.rank(entry[0]), entry[1])):
        owner = owners.get((kind, value))
        if owner is None or owner in members:
            if owner is None:
                broken = rules.violation(group, {kind: {value}})
                if broken is not None:
                    decision.refusals.append(Refusal(broken, "limit", None))
                    continue
                group.setdefault(kind, set()).add(value)
            decision.claimed.append((kind, value))
            continue
        if owner in refused or not merging:
            continue
        theirs = owned_of(owned.get(owner, ()))
        broken = rules.violation(group, theirs)
        if broken is not None:
            refused.add(owner)
            decision.refusals.append(Refusal(broken, "limit", owner, kind))
            continue
        for their_kind, values in theirs.items():
            group.setdefault(their_kind, set()).update(values)
        members.add(owner)
        decision.merge.append(owner)
        decision.claimed.append((kind, value))
    return decision


def decide_claims(
    asking: str,
    claims: Sequence[Entry],
    owners: Mapping[Entry, str],
    owned: Mapping[str, Sequence[Entry]],
    rules: IdentityRules,
) -> ClaimDecision:
    """Settle the claims of `asking` (see the module's rules).

    `owners` maps claimed entries to the profile owning them in the index (if any);
    `owned` gives the key entries (not ids) each of the profiles involved owns."""
    decision = _settle(asking, claims, owners, owned, rules, merging=True)
    if len(decision.merge) + 1 <= rules.max_profiles:
        return decision
    alone = _settle(asking, claims, owners, owned, rules, merging=False)
    via = {owners[entry]: entry[0] for entry in reversed(decision.claimed) if entry in owners}
    too_many = [
        Refusal(via.get(other), "max_profiles_per_merge", other, via.get(other))
        for other in decision.merge
    ]
    by_limit = [refusal for refusal in decision.refusals if refusal.profile is not None]
    own = [refusal for refusal in alone.refusals if refusal.profile is None]
    return ClaimDecision(alone.claimed, [], [*too_many, *by_limit, *own])


def merge_refusals(
    target: str,
    others: Sequence[str],
    owned: Mapping[str, Sequence[Entry]],
    rules: IdentityRules,
) -> list[Refusal]:
    """Why a back-office merge of `others` into `target` breaks the rules (empty: it may).

    The same limits as a merge found by the collector, profile by profile in the given
    order, and the same bound on how many profiles one merge may join."""
    if len(others) + 1 > rules.max_profiles:
        return [Refusal(None, "max_profiles_per_merge", other) for other in others]
    group: Owned = owned_of(owned.get(target, ()))
    refusals: list[Refusal] = []
    for other in others:
        theirs = owned_of(owned.get(other, ()))
        broken = rules.violation(group, theirs)
        if broken is not None:
            refusals.append(Refusal(broken, "limit", other))
            continue
        for kind, values in theirs.items():
            group.setdefault(kind, set()).update(values)
    return refusals
