"""The identity settings compiled for the hot path: blocked values, limits, priorities.

Built once per change of the settings (see `IdentitySettingsStore`), so a request
never normalises the blocked list again: it only looks its own values up."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kith.identity.merge_keys import IdentitySettings, KeyRule, key_values, normalise_value
from kith.notation import parse_path

Entry = tuple[str, str]
"""An identity-index entry: (kind, value); the kind of a key value is its dotted path."""
Owned = dict[str, set[str]]
"""The values a profile (or a group of profiles) owns, per kind."""


def _blocked_forms(rule: KeyRule, blocked: Iterable[str], region: str | None) -> frozenset[str]:
    """Each blocked value as this key would index it, and as written; case-folded."""
    forms: set[str] = set()
    for value in blocked:
        forms.add(value.strip().casefold())
        normalised = normalise_value(value, rule.normalise, region)
        if normalised is not None:
            forms.add(normalised.casefold())
    return frozenset(forms)


@dataclass(frozen=True, slots=True)
class IdentityRules:
    settings: IdentitySettings
    rules: Mapping[str, KeyRule]
    """The rule of each kind (a key's dotted path)."""
    ranks: Mapping[str, tuple[int, int]]
    """(priority, position in the settings): the order in which claims are settled."""
    blocked: Mapping[str, frozenset[str]]

    @classmethod
    def of(cls, settings: IdentitySettings) -> IdentityRules:
        rules: dict[str, KeyRule] = {}
        ranks: dict[str, tuple[int, int]] = {}
        blocked: dict[str, frozenset[str]] = {}
        for position, rule in enumerate(settings.keys):
            kind = parse_path(rule.path).dotted
            rules[kind] = rule
            ranks[kind] = (rule.priority, position)
            blocked[kind] = _blocked_forms(rule, settings.blocked_values, settings.phone_region)
        return cls(settings, rules, ranks, blocked)

    @property
    def max_profiles(self) -> int:
        return self.settings.max_profiles_per_merge

    def limit(self, kind: str) -> int | None:
        """How many values of `kind` one profile may own; ids and unknown kinds: no bound."""
        rule = self.rules.get(kind)
        return rule.limit if rule is not None else None

    def rank(self, kind: str) -> tuple[int, int]:
        return self.ranks.get(kind, (2**31, 2**31))

    def is_blocked(self, kind: str, value: str) -> bool:
        forms = self.blocked.get(kind)
        return forms is not None and value.casefold() in forms

    def key_values(self, profile: dict[str, object]) -> list[Entry]:
        return key_values(profile, self.settings)

    def violation(self, mine: Owned, theirs: Owned) -> str | None:
        """The highest-priority kind whose limit joining `theirs` to `mine` would break.

        A limit is broken only when the union holds more values than it allows *and*
        more than either side already held: data from before a limit was lowered never
        blocks merges that do not make it worse."""
        for kind in sorted(theirs, key=self.rank):
            limit = self.limit(kind)
            if limit is None:
                continue
            ours, others = mine.get(kind, set()), theirs[kind]
            union = len(ours | others)
            if union > limit and union > max(len(ours), len(others)):
                return kind
        return None


@dataclass(frozen=True, slots=True)
class KeyChanges:
    claims: list[Entry]
    """Values the profile gained in this request that may claim (not blocked)."""
    blocked: list[str]
    """Kinds of the blocked values the profile gained: they claim nothing."""


def gained_keys(before: set[Entry], profile: dict[str, object], rules: IdentityRules) -> KeyChanges:
    """What the profile's key values gained since `before`, split by the blocked list."""
    claims: list[Entry] = []
    blocked: list[str] = []
    for kind, value in rules.key_values(profile):
        if (kind, value) in before:
            continue
        if rules.is_blocked(kind, value):
            if kind not in blocked:
                blocked.append(kind)
        else:
            claims.append((kind, value))
    return KeyChanges(claims, blocked)


def owned_of(entries: Iterable[Entry]) -> Owned:
    owned: Owned = {}
    for kind, value in entries:
        owned.setdefault(kind, set()).add(value)
    return owned
