"""What a destination kind is: a config model, docs, how a payload is built, how it is sent.

Every kind, built in or from a plugin package, is a subclass of `DestinationKind`
registered through the entry-point group `kith.destinations` (see `registry`).
The payload is built when the delivery is queued (in the request's unit of
work, from the event and the profile as they were then) and stored as JSON
text; `send` turns stored payloads into requests. A sender makes one opened
instance per destination, so each destination has its own connections and a
hanging endpoint holds only its own."""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from kith.notation.rendering import ObjectTemplate

SECRET_MASK = "***"  # noqa: S105 (what reads show instead of a secret)
C = TypeVar("C", bound=BaseModel)


class KindConfig(BaseModel):
    """Base of kind configs: an unknown key is a mistake worth a 422."""

    model_config = ConfigDict(extra="forbid")


@dataclass(slots=True, frozen=True)
class Outgoing:
    """One delivery about to be sent: `id` is the receiver's idempotency key, stable
    across retries; `body` the stored payload (JSON text)."""

    id: str
    body: str


@dataclass(slots=True, frozen=True)
class Attempt:
    """How one attempt ended. `error` None: delivered. `retry`: worth trying again
    (a connection error, a timeout, 408, 429, 5xx); otherwise the delivery is dead."""

    status: int | None = None
    error: str | None = None
    retry: bool = False
    retry_after: float | None = None
    """Seconds the receiver asked for (`Retry-After`)."""
    answer: str | None = None
    """The remote answer, shortened (shown by `POST .../test`)."""

    @property
    def delivered(self) -> bool:
        return self.error is None


def default_payload(scope: Mapping[str, Any]) -> dict[str, Any]:
    """`{"event", "profile"}` for an event, `{"profile"}` for a profile destination."""
    if "event" in scope:
        return {"event": scope["event"], "profile": scope.get("profile")}
    return {"profile": scope.get("profile")}


class DestinationKind(ABC, Generic[C]):
    kind: ClassVar[str]
    """The id destinations name the kind by (`"webhook"`)."""
    name: ClassVar[str]
    config_model: ClassVar[builtins.type[BaseModel]] = KindConfig
    secrets: ClassVar[tuple[str, ...]] = ()
    """Config fields that carry credentials: write-only, `"***"` when read."""
    batch_size: ClassVar[int] = 1
    """Deliveries one `send` takes (more than one for batch APIs such as Segment's)."""

    def __init__(self, config: C, mapping: ObjectTemplate | None) -> None:
        self.config = config
        self.mapping = mapping

    @classmethod
    def docs(cls) -> str:
        return (cls.__doc__ or "").strip()

    @classmethod
    def generated(cls, config: dict[str, Any]) -> dict[str, Any]:
        """Values to fill in when a config lacks them (a webhook's signing secret);
        returned once, in the answer to the `PUT` that created them."""
        return {}

    @property
    def timeout(self) -> float:
        """Seconds one `send` may take; the sender cancels it after a little more."""
        return float(getattr(self.config, "timeout", 10.0))

    def payload(self, scope: Mapping[str, Any]) -> Any:
        """What to deliver for these documents (`event`, `profile`, `session`): the
        destination's mapping rendered as an object template, or the default."""
        if self.mapping is not None:
            return self.mapping.render(scope)
        return default_payload(scope)

    async def open(self, concurrency: int) -> None:
        """Create clients and pools for up to `concurrency` sends at a time; called once
        before the first `send`."""

    async def close(self) -> None:
        """Release what `open` made."""

    @abstractmethod
    async def send(self, batch: list[Outgoing]) -> Attempt:
        """Deliver `batch` (at most `batch_size`); never raise for the remote's faults,
        answer an `Attempt` that says whether to retry."""
