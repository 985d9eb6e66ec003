"""Merge keys: the profile fields whose values identify a person, and their rules.

A key value is normalised before it goes into the identity index, so that
` Ann@Example.COM ` and `ann@example.com`, or `0049 30 1234567` and
`+49301234567`, are recognised as the same person. Each key carries the rules
that keep the index honest (see `docs/identity.md`): how many values of it one
profile may own (`limit`) and which key wins when limits conflict (`priority`)."""

from __future__ import annotations

from typing import Any, Literal, get_args

import msgspec
import phonenumbers

from kith.notation import MISSING, get_path, parse_path

Normaliser = Literal["email", "phone", "trim"]
NORMALISER_ALIASES: dict[str, Normaliser] = {"text": "trim"}
"""Names accepted on input for a normaliser; `text` was the name of `trim` before."""
ID_KIND = "id"
"""The identity-index kind of profile ids (every id in `profile.ids`)."""
DEFAULT_PRIORITY = 10
"""The priority of a key that does not give one: after the built-in keys."""

DEFAULT_BLOCKED_VALUES: tuple[str, ...] = (
    # placeholders that forms, scripts and tests fill in instead of a real value
    "test@test.com",
    "test@example.com",
    "example@example.com",
    "email@example.com",
    "user@example.com",
    "name@example.com",
    "no@email.com",
    "noemail@noemail.com",
    "none@none.com",
    "null@null.com",
    "a@a.com",
    # what a program writes when it stringifies nothing
    "null",
    "undefined",
    "none",
    "nil",
    "nan",
    "[object object]",
    "true",
    "false",
    # what a person types when a field is required but they will not say
    "n/a",
    "na",
    "-",
    "--",
    ".",
    "0",
    "unknown",
    "anonymous",
    "guest",
    "test",
)
"""Values that never claim or merge unless a user removes them (docs/identity.md)."""


class KeyRule(msgspec.Struct, kw_only=True):
    path: str
    normalise: Normaliser = "trim"
    limit: int | None = None
    """The most distinct values of this key one profile may own; None: no bound."""
    priority: int = DEFAULT_PRIORITY
    """Lower wins: when joining profiles would break limits, the claims of the
    higher-priority keys are settled first and the lower ones give way."""


def default_keys() -> list[KeyRule]:
    return [
        KeyRule(path="data.contact.email.main", normalise="email", limit=5, priority=2),
        KeyRule(path="data.identifier.id", normalise="trim", limit=1, priority=1),
        KeyRule(path="data.contact.phone.main", normalise="phone", limit=5, priority=3),
    ]


class IdentitySettings(msgspec.Struct, kw_only=True):
    keys: list[KeyRule] = msgspec.field(default_factory=default_keys)
    blocked_values: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_BLOCKED_VALUES))
    """Compared after normalising both sides the key's way, ignoring case."""
    max_profiles_per_merge: int = 10
    """The most profiles (the asking one included) one request may join into one."""
    phone_region: str | None = None
    """ISO 3166 region for phone numbers written without a country code (e.g. "DE");
    without it such numbers are not used as keys, because they are ambiguous."""


def _normaliser(name: Any) -> Any:
    return NORMALISER_ALIASES.get(name, name) if isinstance(name, str) else name


def settings_from_document(document: dict[str, Any]) -> IdentitySettings:
    """Settings from a stored or submitted document, in today's shape or the old one.

    The old shape (`{"merge_keys": [{"path", "normalise"}], "phone_region"}`) had no
    rules: a key that is one of the built-in ones takes the built-in limit and
    priority, any other key no limit. Raises msgspec.ValidationError on bad input."""
    fields = {key: value for key, value in document.items() if key != "id"}
    legacy = fields.pop("merge_keys", None)
    if legacy is not None and "keys" not in fields:
        builtin = {rule.path: rule for rule in default_keys()}
        keys = []
        for item in legacy:
            known = builtin.get(item.get("path", "")) if isinstance(item, dict) else None
            rules = {"limit": known.limit, "priority": known.priority} if known else {}
            keys.append({**rules, **item} if isinstance(item, dict) else item)
        fields["keys"] = keys
    if isinstance(fields.get("keys"), list):
        fields["keys"] = [
            {**key, "normalise": _normaliser(key["normalise"])}
            if isinstance(key, dict) and "normalise" in key
            else key
            for key in fields["keys"]
        ]
    return msgspec.convert(fields, IdentitySettings)


def validate_settings(settings: IdentitySettings) -> list[tuple[tuple[str | int, ...], str]]:
    """Problems as (location, message); empty when the settings are usable."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    seen: set[str] = set()
    for index, key in enumerate(settings.keys):
        if key.normalise not in get_args(Normaliser):
            problems.append((("keys", index, "normalise"), f"unknown normaliser {key.normalise!r}"))
        if key.limit is not None and key.limit < 1:
            problems.append((("keys", index, "limit"), "must be at least 1 (or null: no limit)"))
        try:
            path = parse_path(key.path)
        except ValueError as exc:
            problems.append((("keys", index, "path"), str(exc)))
            continue
        if path.scope not in (None, "profile"):
            problems.append((("keys", index, "path"), "must be a profile path"))
        if path.dotted == ID_KIND or path.keys[0] in ("id", "ids", "metadata"):
            problems.append((("keys", index, "path"), "profile ids are always keys"))
        if path.dotted in seen:
            problems.append((("keys", index, "path"), "is listed twice"))
        seen.add(path.dotted)
    if settings.max_profiles_per_merge < 2:
        problems.append((("max_profiles_per_merge",), "must be at least 2"))
    region = settings.phone_region
    if region is not None and region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        problems.append((("phone_region",), f"{region!r} is not a known region code"))
    return problems


def normalise_value(value: Any, how: Normaliser, phone_region: str | None = None) -> str | None:
    """The index form of a key value, or None when it cannot identify anyone."""
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    if not text:
        return None
    if how == "email":
        text = text.lower()
        return text if "@" in text else None
    if how == "phone":
        try:
            number = phonenumbers.parse(text, phone_region.upper() if phone_region else None)
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_possible_number(number):
            return None
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return text


def key_values(profile: dict[str, Any], settings: IdentitySettings) -> list[tuple[str, str]]:
    """(kind, value) identity-index entries the profile's own data holds, blocked or not."""
    entries: list[tuple[str, str]] = []
    for key in settings.keys:
        path = parse_path(key.path)
        raw = get_path(profile, path.keys)
        if raw is MISSING:
            continue
        for item in raw if isinstance(raw, list) else [raw]:
            value = normalise_value(item, key.normalise, settings.phone_region)
            if value is not None:
                entries.append((path.dotted, value))
    return entries
