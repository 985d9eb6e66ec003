"""Nodes that change the documents of the run: fields, counters, lists, segments.

Changes to the profile and the session are saved with the run (in the request's
unit of work for sync flows, in the async flow's own for async ones); no
"update profile" node is needed. `memory@` lasts for one flow run."""

from __future__ import annotations

from numbers import Number
from typing import Any

from pydantic import Field, field_validator

from kith.domain.segment import manual_segments
from kith.notation.paths import MISSING, DotPath, delete_path, get_path, set_path
from kith.workflows.node import FlowNode, NodeConfig, NodeError, Output
from kith.workflows.nodes._compile import field, object_template
from kith.workflows.run import FlowRun

WRITABLE = frozenset({"profile", "session", "memory"})


def target(run: FlowRun, path: DotPath) -> dict[str, Any]:
    """The document a written path lives in."""
    if path.scope == "memory":
        return run.memory
    if path.scope == "session":
        if run.session is None:
            raise NodeError("This run has no session")
        run.session_changed = True
        return run.session
    return run.require_profile()


def writable(value: str) -> str:
    field(value, scopes=WRITABLE)
    return value


class SetConfig(NodeConfig):
    set: dict[str, Any] = Field(
        description="Target path -> value; values are object-template leaves "
        '(`"event@properties.tier"`, a text template, or a constant).',
        min_length=1,
        max_length=200,
    )

    @field_validator("set")
    @classmethod
    def compiles(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key, item in value.items():
            writable(key)
            object_template(item)
        return value


class Set(FlowNode[SetConfig]):
    """Sets fields of the profile, the session or the run's memory. Example:
    `{"set": {"profile@traits.tier": "event@properties.tier",
    "profile@traits.greeting": "Hi {{profile@data.pii.firstname}}"}}`. A value that
    reads a missing field sets null. Writing a merge key (e-mail, phone, customer id)
    merges profiles exactly as an `identify` event does."""

    type = "set"
    name = "Set fields"
    family = "profile"
    config_model = SetConfig

    def __init__(self, config: SetConfig) -> None:
        super().__init__(config)
        self._writes = [
            (field(key, scopes=WRITABLE), object_template(value))
            for key, value in config.set.items()
        ]

    async def run(self, run: FlowRun, payload: Any) -> Output:
        scope = run.scope(payload)
        for path, template in self._writes:
            set_path(target(run, path), path.keys, template.render(scope))
        return self.out(payload)


class CounterConfig(NodeConfig):
    field: str = Field(description="The number to change, e.g. `profile@stats.counters.x`.")
    by: float = Field(1, description="How much to add (increment) or take away (decrement).")

    @field_validator("field")
    @classmethod
    def path(cls, value: str) -> str:
        return writable(value)


class Increment(FlowNode[CounterConfig]):
    """Adds `by` (default 1) to a number field, starting from 0 when it is missing.
    Example: `{"field": "profile@stats.counters.orders", "by": 1}`."""

    type = "increment"
    name = "Increment"
    family = "profile"
    config_model = CounterConfig
    sign = 1

    def __init__(self, config: CounterConfig) -> None:
        super().__init__(config)
        self._path = field(config.field, scopes=WRITABLE)
        by = config.by * self.sign
        self._by: int | float = int(by) if float(by).is_integer() else by

    async def run(self, run: FlowRun, payload: Any) -> Output:
        document = target(run, self._path)
        current = get_path(document, self._path.keys)
        if current is MISSING or current is None:
            current = 0
        if isinstance(current, bool) or not isinstance(current, Number):
            raise NodeError(f"{self.config.field} holds {type(current).__name__}, not a number")
        set_path(document, self._path.keys, current + self._by)  # type: ignore[operator]
        return self.out(payload)


class Decrement(Increment):
    """Takes `by` (default 1) away from a number field, starting from 0 when missing."""

    type = "decrement"
    name = "Decrement"
    sign = -1


class ListConfig(NodeConfig):
    field: str = Field(description="A list field, e.g. `profile@traits.interests`.")
    value: Any = Field(description="An object-template leaf: the value to add or remove.")

    @field_validator("field")
    @classmethod
    def path(cls, value: str) -> str:
        return writable(value)

    @field_validator("value")
    @classmethod
    def compiles(cls, value: Any) -> Any:
        object_template(value)
        return value


class Append(FlowNode[ListConfig]):
    """Appends `value` to a list field unless the list holds it already (a missing
    field becomes a one-item list). A list value appends each of its items."""

    type = "append"
    name = "Append to list"
    family = "profile"
    config_model = ListConfig

    def __init__(self, config: ListConfig) -> None:
        super().__init__(config)
        self._path = field(config.field, scopes=WRITABLE)
        self._value = object_template(config.value)

    def _list(self, run: FlowRun) -> tuple[dict[str, Any], list[Any]]:
        document = target(run, self._path)
        current = get_path(document, self._path.keys)
        if current is MISSING or current is None:
            current = []
        if not isinstance(current, list):
            raise NodeError(f"{self.config.field} holds {type(current).__name__}, not a list")
        return document, current

    async def run(self, run: FlowRun, payload: Any) -> Output:
        document, items = self._list(run)
        value = self._value.render(run.scope(payload))
        for item in value if isinstance(value, list) else [value]:
            if item not in items:
                items.append(item)
        set_path(document, self._path.keys, items)
        return self.out(payload)


class Remove(Append):
    """Removes every occurrence of `value` (or of each item of a list value) from a
    list field."""

    type = "remove"
    name = "Remove from list"

    async def run(self, run: FlowRun, payload: Any) -> Output:
        document, items = self._list(run)
        value = self._value.render(run.scope(payload))
        gone = value if isinstance(value, list) else [value]
        set_path(document, self._path.keys, [item for item in items if item not in gone])
        return self.out(payload)


class DeleteConfig(NodeConfig):
    fields: list[str] = Field(min_length=1, max_length=100, description="Paths to delete.")

    @field_validator("fields")
    @classmethod
    def paths(cls, value: list[str]) -> list[str]:
        for item in value:
            writable(item)
        return value


class Delete(FlowNode[DeleteConfig]):
    """Deletes fields of the profile, the session or the memory. Example:
    `{"fields": ["profile@traits.coupon"]}`."""

    type = "delete"
    name = "Delete fields"
    family = "profile"
    config_model = DeleteConfig

    def __init__(self, config: DeleteConfig) -> None:
        super().__init__(config)
        self._paths = [field(item, scopes=WRITABLE) for item in config.fields]

    async def run(self, run: FlowRun, payload: Any) -> Output:
        for path in self._paths:
            delete_path(target(run, path), path.keys)
        return self.out(payload)


class SegmentConfig(NodeConfig):
    segment: str = Field(min_length=1, max_length=128, description="The segment id.")


class AddSegment(FlowNode[SegmentConfig]):
    """Puts the profile in a segment: it stays there until a `remove-segment` node
    takes it out (condition segments are kept true by Kith itself)."""

    type = "add-segment"
    name = "Add to segment"
    family = "segments"
    config_model = SegmentConfig

    async def run(self, run: FlowRun, payload: Any) -> Output:
        profile = run.require_profile()
        segment = self.config.segment
        manual = manual_segments(profile)
        if segment not in manual:
            manual.append(segment)
        segments = profile.setdefault("segments", [])
        if segment not in segments:
            segments.append(segment)
        return self.out(payload)


class RemoveSegment(FlowNode[SegmentConfig]):
    """Takes the profile out of a segment that a node put it in."""

    type = "remove-segment"
    name = "Remove from segment"
    family = "segments"
    config_model = SegmentConfig

    async def run(self, run: FlowRun, payload: Any) -> Output:
        profile = run.require_profile()
        segment = self.config.segment
        manual = manual_segments(profile)
        if segment in manual:
            manual.remove(segment)
        profile["segments"] = [s for s in profile.get("segments") or [] if s != segment]
        return self.out(payload)


class HasSegment(FlowNode[SegmentConfig]):
    """Branches on the profile's membership of a segment: `true` or `false`."""

    type = "has-segment"
    name = "Has segment"
    family = "segments"
    ports = ("true", "false")
    config_model = SegmentConfig

    async def run(self, run: FlowRun, payload: Any) -> Output:
        segments = (run.profile or {}).get("segments") or []
        return Output("true" if self.config.segment in segments else "false", payload)


NODES = [Set, Increment, Decrement, Append, Remove, Delete, AddSegment, RemoveSegment, HasSegment]
