"""Interest nodes: how much a profile cares about a topic, as numbers in
`profile.interests` (`{"shoes": 3, "running": 1.5}`).

The interest's name is a text template, so one node can score whatever topic the
event names (`"{{event@properties.category}}"`). A name is one key of
`interests`, dots and all: `interests["a.b"]`, never `interests.a.b`."""

from __future__ import annotations

from numbers import Number
from typing import Any

from pydantic import Field, field_validator

from kith.workflows.node import FlowNode, NodeConfig, NodeError, Output
from kith.workflows.nodes._compile import text_template
from kith.workflows.run import FlowRun

MAX_INTEREST_NAME = 128


class InterestConfig(NodeConfig):
    interest: str = Field(
        min_length=1,
        max_length=1024,
        description="The interest's name, a text template (`shoes`, "
        "`{{event@properties.category}}`).",
    )
    value: float = Field(1, description="The value to set, add or take away.")

    @field_validator("interest")
    @classmethod
    def compiles(cls, value: str) -> str:
        text_template(value)
        return value


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


class AddInterest(FlowNode[InterestConfig]):
    """Sets the profile's interest in a topic to `value` (default 1), whatever it was.
    Example: `{"interest": "{{event@properties.category}}", "value": 1}`."""

    type = "add-interest"
    name = "Add interest"
    family = "interests"
    config_model = InterestConfig
    sign = 0
    """0: set `value`; 1 or -1: add or take `value` away from the current value."""

    def __init__(self, config: InterestConfig) -> None:
        super().__init__(config)
        self._interest = text_template(config.interest)
        self._value = _number(config.value)

    def _interests(self, run: FlowRun, payload: Any) -> tuple[dict[str, Any], str]:
        name = self._interest.render(run.scope(payload)).strip()
        if not name:
            raise NodeError(f"the interest {self.config.interest!r} renders as nothing")
        if len(name) > MAX_INTEREST_NAME:
            raise NodeError(f"an interest name is at most {MAX_INTEREST_NAME} characters")
        profile = run.require_profile()
        interests = profile.get("interests")
        if not isinstance(interests, dict):
            interests = profile["interests"] = {}
        return interests, name

    async def run(self, run: FlowRun, payload: Any) -> Output:
        interests, name = self._interests(run, payload)
        if self.sign == 0:
            interests[name] = self._value
            return self.out(payload)
        current = interests.get(name)
        if current is None:
            current = 0
        if isinstance(current, bool) or not isinstance(current, Number):
            raise NodeError(f"interests[{name!r}] holds {type(current).__name__}, not a number")
        interests[name] = _number(current + self.sign * self._value)  # type: ignore[operator]
        return self.out(payload)


class IncreaseInterest(AddInterest):
    """Adds `value` (default 1) to the profile's interest in a topic, from 0 when the
    profile has none yet. Example: `{"interest": "running", "value": 0.5}`."""

    type = "increase-interest"
    name = "Increase interest"
    sign = 1


class DecreaseInterest(AddInterest):
    """Takes `value` (default 1) away from the profile's interest in a topic, from 0
    when the profile has none yet (so it can go below zero: a topic the visitor
    turned away from). Example: `{"interest": "running", "value": 1}`."""

    type = "decrease-interest"
    name = "Decrease interest"
    sign = -1


NODES = [AddInterest, IncreaseInterest, DecreaseInterest]
