"""The pipeline's identity step for payloads from people known by another system's
ids (Segment's `userId` / `anonymousId`, see `ExternalIdentity`).

Which profile: the one the user's derived id resolves to, else the owner of the
`userId` as customer id (`data.identifier.id`, e.g. set by Kith's own `identify`),
else the one the device's (or an alias's previous) id resolves to, else a new
profile under the strongest derived id. The locks of every derived id are taken
(through `HeldLocks`, so in the usual order) before anything is read for the
choice, so two messages of one person, however concurrent, serialise on a shared
id and the second finds what the first created: no person gets two profiles.

The profile then claims every derived id it does not own yet, as entries of kind
`id` in the identity index, through the identity step of the pipeline: an id that
another profile owns joins that profile (a merge, under the identity rules), so an
anonymous device's history moves to the person once a `userId` names them. One
exception: a device already tied to a profile with another customer id is left
there (a shared computer; Segment's SDKs keep the `anonymousId` across log-outs
unless told to reset it), without a merge attempt on every message.

Locks: a payload without a session first takes its device's lock (`device_lock`).

Visits: a payload without a session continues the device's last session unless
its first event is more than 30 minutes after the device's last one; the device's
last session and time are kept on the profile, in `aux.visits`, under its lock."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

from kith.domain.clock import iso, parse_iso
from kith.domain.external_identity import ExternalIdentity
from kith.domain.ids import new_id
from kith.domain.mapping import log_changes
from kith.domain.payload import TrackerPayload
from kith.storage.ports import Document, Storage
from kith.tracking.locking import HeldLocks

CUSTOMER_ID_KEY = "data.identifier.id"
INACTIVITY = timedelta(minutes=30)
"""A device's visit ends after this long without an event (Segment's and GA's rule)."""
_VISITS_KEPT = 16
"""The devices whose last visit a profile remembers; the least recently seen go first."""


@dataclass(frozen=True, slots=True)
class ExternalChoice:
    profile_id: str
    """The chosen profile's current id (it may not exist yet)."""
    claims: tuple[str, ...]
    """The derived ids the profile is to own."""


def device_lock(person: ExternalIdentity) -> str:
    """The key of the first lock a person's payload takes, where a payload with a
    session id takes its session's: the device's. Like a session lock it is only ever
    taken first, with no other lock held, so a request waiting for it holds nothing
    (on PostgreSQL: no pooled lock connection) that the request holding it may need.
    It also keeps one device's visit (`aux.visits`) from being decided twice at once.
    NUL cannot occur in a client's session id, so this key is nobody's session."""
    return f"device\x00{person.device}"


def customer_id_of(profile: Document | None) -> str | None:
    identifier = ((profile or {}).get("data") or {}).get("identifier") or {}
    value = identifier.get("id") if isinstance(identifier, dict) else None
    text = str(value).strip() if isinstance(value, str | int) else ""
    return text or None


async def choose_external_profile(
    storage: Storage, held: HeldLocks, person: ExternalIdentity
) -> ExternalChoice:
    """Lock and choose the person's profile (see the module). Called with no profile lock held."""
    tracking = storage.tracking
    owner: str | None = None
    if person.customer_id:
        entry = (CUSTOMER_ID_KEY, person.customer_id)
        owner = (await tracking.identity_owners([entry])).get(entry)
    current = await held.hold_profiles([*person.ids, *([owner] if owner else [])])
    existing: dict[str, str] = {}
    for derived in person.ids:
        # locked as itself, it was looked up again under the lock (`held.known`)
        if current[derived] != derived or held.known.get(derived):
            existing[derived] = current[derived]
    claims = list(person.ids)
    chosen = existing.get(person.user or "") or (current[owner] if owner else None)
    for weak, droppable in ((person.anonymous, True), (person.previous, False)):
        holder = existing.get(weak or "")
        if weak is None or holder is None or holder == chosen:
            continue
        if person.customer_id is not None:
            theirs = customer_id_of(await tracking.get_profile(holder))
            if theirs is not None and theirs != person.customer_id:
                if droppable:
                    claims.remove(weak)
                continue
        chosen = chosen or holder
    return ExternalChoice(chosen or current[person.ids[0]], tuple(claims))


def id_claims(profile: Document, choice: ExternalChoice) -> list[tuple[str, str]]:
    """Identity-index entries (kind `id`) for the derived ids the profile lacks."""
    own = set(profile.get("ids") or ())
    return [("id", derived) for derived in choice.claims if derived not in own]


def give_customer_id(
    profile: Document, person: ExternalIdentity, event_id: str | None, now: str
) -> None:
    """The `userId` as the profile's customer id, unless it has one (the identity
    rules allow one per profile by default; a different one stays, and wins)."""
    if person.customer_id is None or customer_id_of(profile) is not None:
        return
    data = profile.setdefault("data", {})
    identifier = data.get("identifier")
    if not isinstance(identifier, dict):
        identifier = data["identifier"] = {}
    identifier["id"] = person.customer_id
    log_changes(profile, [CUSTOMER_ID_KEY], event_id=event_id or "", now=now)


def _times(payload: TrackerPayload, now: str) -> tuple[datetime, datetime]:
    moments = [event.time.create for event in payload.events if event.time and event.time.create]
    if not moments:
        moment = parse_iso(now)
        return moment, moment
    return moments[0], max(moments)


def _visits(profile: Document) -> dict[str, dict[str, str]]:
    aux = profile.get("aux")
    if not isinstance(aux, dict):
        aux = profile["aux"] = {}
    visits = aux.get("visits")
    if not isinstance(visits, dict):
        visits = aux["visits"] = {}
    return visits


async def continued_session(
    storage: Storage, profile: Document, device: str, payload: TrackerPayload, now: str
) -> tuple[str, Document | None]:
    """The device's current session (id and document), or a new id after inactivity."""
    first, _ = _times(payload, now)
    last = _visits(profile).get(device)
    if isinstance(last, dict) and isinstance(last.get("session"), str):
        try:
            seen = parse_iso(str(last.get("seen")))
        except ValueError:
            seen = None
        if seen is not None and first - seen <= INACTIVITY:
            session = await storage.tracking.get_session(last["session"])
            if session is not None:
                return last["session"], session
    return new_id(), None


def remember_visit(
    profile: Document, device: str, session_id: str, payload: TrackerPayload, now: str
) -> None:
    """Keep the device's session and its latest event time on the profile."""
    _, latest = _times(payload, now)
    visits = _visits(profile)
    last = visits.get(device)
    if isinstance(last, dict) and last.get("session") == session_id:
        with suppress(ValueError):
            latest = max(latest, parse_iso(str(last.get("seen"))))
    visits[device] = {"session": session_id, "seen": iso(latest)}
    while len(visits) > _VISITS_KEPT:
        del visits[min(visits, key=lambda key: str(visits[key].get("seen", "")))]
