"""The delivery queue: what Kith owes other systems, kept in the store it already has.

A delivery is written in the same commit as the event (or profile change) that
causes it, so an acknowledged event never loses its deliveries to a crash. A
sender claims due deliveries of one destination with a lease: the claim moves
`next_attempt` past the lease and records the claimant, so no other process
claims them meanwhile, and a claimant that died lets them become due again.
Settling checks the claimant, so a late answer from a process whose lease ran
out changes nothing. Times are epoch microseconds by the store's own clock;
callers give delays, never absolute times, so processes on machines whose
clocks differ still agree."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from kith.storage.ports.common import Page

DeliveryStatus = Literal["pending", "delivered", "dead"]
DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = ("pending", "delivered", "dead")


@dataclass(slots=True)
class Delivery:
    id: str
    """Also the receiver's idempotency key (the webhook's `webhook-id`)."""
    destination: str
    event_id: str | None
    profile_id: str | None
    body: str | None
    """What to send, as JSON text rendered when the delivery was queued; None for a
    profile destination, whose body is the profile as it is when sent."""
    delay: float = 0.0
    """Seconds from now to the first attempt (a profile destination's debounce)."""
    max_age: float = 4 * 3600.0
    """Seconds after which it is no longer tried: it becomes dead."""
    debounce: str | None = None
    """While set, another delivery with the same destination and key is not queued
    (the profile id of a profile destination); a claim clears it."""
    status: DeliveryStatus = "pending"
    attempts: int = 0
    last_status: int | None = None
    last_error: str | None = None
    created: int = 0
    next_attempt: int = 0
    expires: int = 0
    finished: int | None = None


@dataclass(slots=True, frozen=True)
class Outcome:
    """The end of one attempt. `status` pending: try again in `retry_in` seconds."""

    id: str
    owner: str
    status: DeliveryStatus
    last_status: int | None = None
    last_error: str | None = None
    retry_in: float = 0.0
    counted: bool = True
    """False when the attempt never started (the sender stopped first): it does not
    count toward `attempts`."""


@dataclass(slots=True, frozen=True)
class DeliveryStats:
    pending: int
    delivered: int
    dead: int
    retries: int
    """Attempts beyond the first, over the destination's stored deliveries."""
    oldest_pending: int | None
    """`created` of the oldest pending delivery (epoch microseconds)."""
    now: int
    """The store's clock when counted, to turn `oldest_pending` into an age."""


class DeliveryStore(Protocol):
    async def add(self, deliveries: list[Delivery]) -> None:
        """Queue deliveries outside a collector request (flows, tests); committed on return."""
        ...

    async def claim(self, destination: str, owner: str, limit: int, lease: float) -> list[Delivery]:
        """Up to `limit` due pending deliveries of `destination`, oldest due first, now
        held by `owner` for `lease` seconds; `attempts` counts this attempt."""
        ...

    async def settle(self, outcomes: list[Outcome]) -> int:
        """Record outcomes in one transaction; those whose claim `owner` no longer holds
        are ignored. How many were recorded."""
        ...

    async def page(
        self, destination: str, status: DeliveryStatus | None, cursor: str | None, limit: int
    ) -> Page[Delivery]:
        """Newest first."""
        ...

    async def replay(
        self,
        destination: str,
        status: DeliveryStatus,
        created_from: int | None,
        created_to: int | None,
        max_age: float,
    ) -> int:
        """Queue again (due now, attempts from zero, `max_age` from now) the deliveries of
        `status` created in [from, to]; how many."""
        ...

    async def purge(self, destination: str) -> int:
        """Delete every delivery of a destination (it was deleted)."""
        ...

    async def prune(self, finished_before_seconds: float, limit: int) -> int:
        """Delete up to `limit` delivered or dead deliveries finished more than this many
        seconds ago; how many."""
        ...

    async def stats(self, destination: str) -> DeliveryStats: ...
