"""Nodes that read stored records: another profile, the profile's previous event.

What they load is a copy for reading (in the payload or the run's memory):
changing it changes nothing stored. Only the run's own profile is saved."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from kith.conditions.values import as_datetime
from kith.notation.paths import MISSING, set_path
from kith.storage.ports import EventFilter
from kith.workflows.node import FlowNode, NodeConfig, Output
from kith.workflows.nodes._compile import field, object_template
from kith.workflows.run import FlowRun

PAYLOAD = "payload"


class Into(NodeConfig):
    into: str = Field(
        PAYLOAD,
        description='Where the record goes: `"payload"` (the next nodes\' input) or a '
        "memory path such as `memory@referrer`.",
    )

    @field_validator("into")
    @classmethod
    def destination(cls, value: str) -> str:
        if value != PAYLOAD:
            field(value, scopes=frozenset({"memory"}))
        return value


def deliver(run: FlowRun, into: str, record: Any, payload: Any) -> Output:
    """`record` as the payload, or stored in memory with the payload passed on."""
    if into == PAYLOAD:
        return Output("out", record)
    path = field(into, scopes=frozenset({"memory"}))
    set_path(run.memory, path.keys, record)
    return Output("out", payload)


class LoadProfileConfig(Into):
    id: str = Field(
        description="The profile's id or any id it is known by (a merged-away id, a "
        "`profile.ids` entry): an object-template leaf or a text template."
    )

    @field_validator("id")
    @classmethod
    def compiles(cls, value: str) -> str:
        object_template(value)
        return value


class LoadProfile(FlowNode[LoadProfileConfig]):
    """Loads another profile, for reading, into the payload or the memory, and goes out
    of `out`; when no profile has that id the input goes out of `missing`. Example:
    `{"id": "event@properties.referrer", "into": "memory@referrer"}`, then
    `memory@referrer.traits.tier`. Merged profiles are followed to the one they
    became."""

    type = "load-profile"
    name = "Load profile"
    family = "records"
    ports = ("out", "missing")
    config_model = LoadProfileConfig
    io = True

    def __init__(self, config: LoadProfileConfig) -> None:
        super().__init__(config)
        self._id = object_template(config.id)

    async def run(self, run: FlowRun, payload: Any) -> Output:
        wanted = self._id.render(run.scope(payload))
        if not isinstance(wanted, str) or not wanted.strip():
            return Output("missing", payload)
        tracking = run.services.storage.tracking
        profile_id = await tracking.resolve_profile_id(wanted.strip())
        profile = await tracking.get_profile(profile_id) if profile_id else None
        if profile is None:
            return Output("missing", payload)
        return deliver(run, self.config.into, profile, payload)


class PreviousEventConfig(Into):
    event_type: str | None = Field(
        None,
        min_length=1,
        max_length=128,
        description="The event type to look for; null: any type.",
    )


class PreviousEvent(FlowNode[PreviousEventConfig]):
    """Loads the profile's stored event before this one (of `event_type`, or of any
    type), for reading, into the payload or the memory, and goes out of `out`; when
    there is none (or the run has no profile) the input goes out of `none`. Example:
    `{"event_type": "order-completed", "into": "memory@last_order"}`, then
    `memory@last_order.properties.total`. Events stored at the same moment as this
    one (in the same request) do not count as before it."""

    type = "previous-event"
    name = "Previous event"
    family = "records"
    ports = ("out", "none")
    config_model = PreviousEventConfig
    io = True

    async def run(self, run: FlowRun, payload: Any) -> Output:
        profile_id = (run.profile or {}).get("id")
        if not profile_id:
            return Output("none", payload)
        inserted = as_datetime(((run.event.get("metadata") or {}).get("time") or {}).get("insert"))
        before = run.now if inserted is MISSING else inserted
        page = await run.services.storage.data.list_events(
            EventFilter(profile=profile_id, type=self.config.event_type, to=before),
            None,
            1,
        )
        if not page.items:
            return Output("none", payload)
        return deliver(run, self.config.into, page.items[0], payload)


NODES = [LoadProfile, PreviousEvent]
