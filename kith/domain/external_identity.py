"""A person as another system names them: Segment's `userId` and `anonymousId`.

Kith never lets a client choose a profile id, so a sender's own ids are not used
as profile ids directly: each is turned into a UUIDv5 in a namespace of Kith's
own. Every message naming `anonymousId: "a1"` derives the same id, so the first
of them creates the profile under that id and every later one (on any process)
finds it through the identity index, where the id stays even after the profile
merges into another. No other way into Kith creates ids in this namespace, and
the derived id says nothing about whose profile a Kith-minted (UUIDv7) id is.

`userId` is also the customer id: the `data.identifier.id` merge key, so a
person identified by a Segment SDK and by Kith's own `identify` is one profile."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from functools import lru_cache

_PROFILES = uuid.UUID("080f43d0-011e-441e-ab67-a59d72478a2f")
"""The namespace of profile ids derived from external ids (fixed forever: changing it
would make every external id resolve to a new person)."""


def uuid5_text(namespace: uuid.UUID, name: str) -> str:
    """`str(uuid.uuid5(namespace, name))` at twice its speed (no UUID object); a batch
    of Segment messages derives a few hundred of these."""
    digest = bytearray(
        hashlib.sha1(namespace.bytes + name.encode(), usedforsecurity=False).digest()
    )
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    text = digest[:16].hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


@lru_cache(maxsize=16384)
def external_profile_id(external_id: str) -> str:
    """The profile id Kith derives from an external id (a `userId` or `anonymousId`).

    One namespace for both kinds: an `alias` call's `previousId` may be either.
    Cached: a person's messages come together, ten to a batch."""
    return uuid5_text(_PROFILES, external_id)


@dataclass(frozen=True, slots=True)
class ExternalIdentity:
    """Who sent a payload, as ids derived from the sender's own (see the module).

    Given to the pipeline by a bridge that read them from its wire format, never
    taken from a tracker payload, so no client can set them on `/track`."""

    user: str | None = None
    """Derived from the `userId`: the strongest, it decides the profile when known."""
    anonymous: str | None = None
    """Derived from the `anonymousId` (a device or browser)."""
    previous: str | None = None
    """Derived from an `alias` call's `previousId`: to be merged into this person."""
    customer_id: str | None = None
    """The `userId` itself, for the `data.identifier.id` merge key."""

    @classmethod
    def of(
        cls, user_id: str | None, anonymous_id: str | None, previous_id: str | None = None
    ) -> ExternalIdentity:
        def derived(value: str | None) -> str | None:
            return external_profile_id(value) if value else None

        return cls(derived(user_id), derived(anonymous_id), derived(previous_id), user_id)

    @property
    def ids(self) -> tuple[str, ...]:
        """The derived profile ids, strongest first, without repeats."""
        found = (self.user, self.anonymous, self.previous)
        return tuple(dict.fromkeys(value for value in found if value))

    @property
    def device(self) -> str:
        """The key whose visits are told apart by inactivity: the browser or device
        (its `anonymousId`) when known, else an alias's previous id (usually that
        device's), else the user."""
        key = self.anonymous or self.previous or self.user
        if key is None:
            raise ValueError("an external identity needs at least one id")
        return key
