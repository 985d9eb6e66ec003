"""The unified customer profile document and the visit-counting rule."""

from __future__ import annotations

from kith.domain.document import Document


def new_profile(profile_id: str, now: str) -> Document:
    """A fresh profile in API.md's shape; `ids` lists every id that resolves here."""
    return {
        "id": profile_id,
        "ids": [profile_id],
        "metadata": {
            "time": {
                "create": now,
                "insert": now,
                "update": now,
                "visit": {"last": None, "current": None, "count": 0, "tz": None},
            },
        },
        "stats": {"visits": 0, "views": 0, "counters": {}},
        "traits": {},
        "segments": [],
        "interests": {},
        "consents": {},
        "computed": {},
        "data": {
            "pii": {},
            "contact": {"email": {}, "phone": {}},
            "identifier": {},
            "devices": {},
            "media": {},
            "preferences": {},
            "job": {},
            "metrics": {},
            "loyalty": {},
        },
        "active": True,
        "aux": {},
    }


def count_visit(profile: Document, now: str, tz: str | None = None) -> None:
    """A new session is a visit: shift current to last, count it in both places."""
    visit = profile["metadata"]["time"]["visit"]
    visit["last"] = visit.get("current")
    visit["current"] = now
    visit["count"] = int(visit.get("count") or 0) + 1
    if tz:
        visit["tz"] = tz
    stats = profile["stats"]
    stats["visits"] = int(stats.get("visits") or 0) + 1


def touch(profile: Document, now: str) -> None:
    profile["metadata"]["time"]["update"] = now


def visible_profile(profile: Document | None) -> Document | None:
    """The profile as a source may see it in a `/track` answer (`options.profile`):
    everything but `aux`, Kith's internal bookkeeping."""
    if profile is None:
        return None
    return {key: value for key, value in profile.items() if key != "aux"}
