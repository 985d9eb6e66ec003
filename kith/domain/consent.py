"""Consent types and the consent decisions stored on a profile.

A decision is `profile.consents[type] = {granted, time, expires}`. Expiry is
evaluated when read, never by a background job, so an expired consent can never
be mistaken for a granted one however late the reader comes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec

from kith.domain.clock import iso, parse_iso
from kith.domain.document import Document


class ConsentType(msgspec.Struct, kw_only=True):
    id: str
    name: str = ""
    description: str = ""
    revokable: bool = True
    default: bool = False
    """What a profile that never decided reads as."""
    auto_expiry_days: int | None = None
    """A grant lapses this many days after it was given; None: never."""


def _type_list(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value] if isinstance(value, str) else []
    return [item.strip().lower() for item in items if isinstance(item, str) and item.strip()]


def apply_consent_update(
    profile: Document,
    properties: Document,
    types: dict[str, ConsentType],
    now: str,
) -> tuple[list[str], list[str]]:
    """Record the event's `granted` and `revoked` lists; return (changed paths, warnings).

    A revocation of a type that is not revokable is refused with a warning.
    Types nobody defined are still recorded (without expiry): losing a user's
    decision because configuration lagged behind would be worse."""
    consents = profile.setdefault("consents", {})
    changed: list[str] = []
    warnings: list[str] = []
    decisions = [(name, True) for name in _type_list(properties.get("granted"))]
    decisions += [(name, False) for name in _type_list(properties.get("revoked"))]
    for name, granted in decisions:
        kind = types.get(name)
        if not granted and kind is not None and not kind.revokable:
            warnings.append(f"consent {name!r} is not revokable")
            continue
        expires = None
        if granted and kind is not None and kind.auto_expiry_days:
            expires = iso(parse_iso(now) + timedelta(days=kind.auto_expiry_days))
        consents[name] = {"granted": granted, "time": now, "expires": expires}
        changed.append(f"consents.{name}")
    return changed, warnings


def effective_consents(
    profile: Document, now: str, types: dict[str, ConsentType] | None = None
) -> Document:
    """The consents as they read at `now`: an expired grant reads as not granted, and
    a type with a default the profile never decided on reads as that default."""
    moment = parse_iso(now)
    result: Document = {}
    for name, types_default in (types or {}).items():
        if types_default.default:
            result[name] = {"granted": True, "time": None, "expires": None}
    for name, decision in (profile.get("consents") or {}).items():
        if not isinstance(decision, dict):
            continue
        decision = dict(decision)
        expires = decision.get("expires")
        if decision.get("granted") and isinstance(expires, str) and parse_iso(expires) <= moment:
            decision["granted"] = False
            decision["expired"] = True
        result[name] = decision
    return result
