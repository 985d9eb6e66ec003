"""Merge keys: the profile fields whose values identify a person.

A key value is normalised before it goes into the identity index, so that
` Ann@Example.COM ` and `ann@example.com`, or `0049 30 1234567` and
`+49301234567`, are recognised as the same person."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
import phonenumbers

from kith.notation import MISSING, get_path, parse_path

Normaliser = Literal["email", "phone", "text"]
ID_KIND = "id"
"""The identity-index kind of profile ids (every id in `profile.ids`)."""


class MergeKey(msgspec.Struct, kw_only=True):
    path: str
    normalise: Normaliser = "text"


class IdentitySettings(msgspec.Struct, kw_only=True):
    merge_keys: list[MergeKey] = msgspec.field(
        default_factory=lambda: [
            MergeKey(path="data.contact.email.main", normalise="email"),
            MergeKey(path="data.contact.phone.main", normalise="phone"),
            MergeKey(path="data.identifier.id", normalise="text"),
        ]
    )
    phone_region: str | None = None
    """ISO 3166 region for phone numbers written without a country code (e.g. "DE");
    without it such numbers are not used as keys, because they are ambiguous."""


def validate_settings(settings: IdentitySettings) -> list[tuple[tuple[str | int, ...], str]]:
    """Problems as (location, message); empty when the settings are usable."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    seen: set[str] = set()
    for index, key in enumerate(settings.merge_keys):
        try:
            path = parse_path(key.path)
        except ValueError as exc:
            problems.append((("merge_keys", index, "path"), str(exc)))
            continue
        if path.scope not in (None, "profile"):
            problems.append((("merge_keys", index, "path"), "must be a profile path"))
        if path.dotted == ID_KIND or path.keys[0] in ("id", "ids", "metadata"):
            problems.append((("merge_keys", index, "path"), "profile ids are always keys"))
        if path.dotted in seen:
            problems.append((("merge_keys", index, "path"), "is listed twice"))
        seen.add(path.dotted)
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
    """(kind, value) identity-index entries the profile's own data calls for."""
    entries: list[tuple[str, str]] = []
    for key in settings.merge_keys:
        path = parse_path(key.path)
        raw = get_path(profile, path.keys)
        if raw is MISSING:
            continue
        for item in raw if isinstance(raw, list) else [raw]:
            value = normalise_value(item, key.normalise, settings.phone_region)
            if value is not None:
                entries.append((path.dotted, value))
    return entries
