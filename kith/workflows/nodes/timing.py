"""Time arithmetic: how long between two moments."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from kith.conditions.values import as_datetime
from kith.notation.paths import MISSING
from kith.workflows.node import FlowNode, NodeConfig, NodeError, Output
from kith.workflows.nodes._compile import object_template
from kith.workflows.run import FlowRun


class TimeBetweenConfig(NodeConfig):
    start: Any = Field(
        alias="from",
        description="The earlier moment: an object-template leaf holding an ISO 8601 "
        "datetime or epoch seconds (`profile@metadata.time.insert`).",
    )
    end: Any = Field(
        None, alias="to", description="The later moment, the same way; null: the run's time."
    )

    @field_validator("start", "end")
    @classmethod
    def compiles(cls, value: Any) -> Any:
        object_template(value)
        return value


class TimeBetween(FlowNode[TimeBetweenConfig]):
    """The time from `from` to `to` (the run's time when `to` is null); the new payload
    is `{"seconds", "minutes", "hours", "days"}`, the same span in each unit
    (negative when `to` is earlier). Example: `{"from":
    "profile@metadata.time.visit.last"}`, then an `if` on `payload@days > 30` or a
    `set` of `{"profile@traits.days_away": "payload@days"}`. A value that is not a
    datetime (ISO 8601 text or epoch seconds) fails the node; datetimes without an
    offset are UTC."""

    type = "time-between"
    name = "Time between"
    family = "data"
    config_model = TimeBetweenConfig

    def __init__(self, config: TimeBetweenConfig) -> None:
        super().__init__(config)
        self._start = object_template(config.start)
        self._end = None if config.end is None else object_template(config.end)

    async def run(self, run: FlowRun, payload: Any) -> Output:
        scope = run.scope(payload)
        start = as_datetime(self._start.render(scope))
        end = run.now if self._end is None else as_datetime(self._end.render(scope))
        for name, moment in (("from", start), ("to", end)):
            if moment is MISSING:
                raise NodeError(f"`{name}` is not a datetime")
        seconds = (end - start).total_seconds()
        return self.out(
            {
                "seconds": seconds,
                "minutes": seconds / 60,
                "hours": seconds / 3600,
                "days": seconds / 86400,
            }
        )


NODES = [TimeBetween]
