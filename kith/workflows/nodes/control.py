"""Control nodes: where a flow starts and ends, branches, joins, waits and fails."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import Field, field_validator

from kith.workflows.node import FlowNode, NoConfig, NodeConfig, NodeError, Output
from kith.workflows.nodes._compile import condition, text_template
from kith.workflows.run import FlowRun


class Start(FlowNode[NoConfig]):
    """The entry of every flow (exactly one). Its output is the event that started the
    run, so the next node's `payload@` is the event."""

    type = "start"
    name = "Start"
    family = "control"

    async def run(self, run: FlowRun, payload: Any) -> Output:
        return self.out(payload)


class End(FlowNode[NoConfig]):
    """Ends this branch. Optional: a branch also ends at a node with no edge out."""

    type = "end"
    name = "End"
    family = "control"
    ports = ()

    async def run(self, run: FlowRun, payload: Any) -> Output:
        return Output(None, payload)


class IfConfig(NodeConfig):
    condition: str = Field(description="A condition (docs/conditions.md).", max_length=65536)

    @field_validator("condition")
    @classmethod
    def compiles(cls, value: str) -> str:
        condition(value)
        return value


class If(FlowNode[IfConfig]):
    """Branches on a condition: the input goes out of `true` or `false` unchanged.
    Example config: `{"condition": "event@properties.total >= 100"}`."""

    type = "if"
    name = "If"
    family = "control"
    ports = ("true", "false")
    config_model = IfConfig

    def __init__(self, config: IfConfig) -> None:
        super().__init__(config)
        self._condition = condition(config.condition)

    async def run(self, run: FlowRun, payload: Any) -> Output:
        result = self._condition.evaluate(run.scope(payload), now=run.now)
        return Output("true" if result else "false", payload)


class Join(FlowNode[NoConfig]):
    """Waits for every branch that reaches it and runs once, with
    `{source node id: its payload}` as its input and output."""

    type = "join"
    name = "Join"
    family = "control"

    async def run(self, run: FlowRun, payload: Any) -> Output:
        return self.out(payload)


class ErrorConfig(NodeConfig):
    message: str = Field(description="A text template: why the flow fails.", max_length=4096)

    @field_validator("message")
    @classmethod
    def compiles(cls, value: str) -> str:
        text_template(value)
        return value


class Error(FlowNode[ErrorConfig]):
    """Fails on purpose with `message` (a text template), e.g. after a check that
    must not fail. With `on_error: port` the failure goes out of `error`."""

    type = "error"
    name = "Error"
    family = "control"
    ports = ()
    config_model = ErrorConfig

    def __init__(self, config: ErrorConfig) -> None:
        super().__init__(config)
        self._message = text_template(config.message)

    async def run(self, run: FlowRun, payload: Any) -> Output:
        raise NodeError(self._message.render(run.scope(payload)))


class LogConfig(NodeConfig):
    message: str = Field(
        "{{payload@...}}", description="A text template written to Kith's log.", max_length=4096
    )
    level: str = Field("info", pattern="^(debug|info|warning|error)$")

    @field_validator("message")
    @classmethod
    def compiles(cls, value: str) -> str:
        text_template(value)
        return value


class Log(FlowNode[LogConfig]):
    """Writes `message` (a text template) to Kith's log at `level` and passes its input on."""

    type = "log"
    name = "Log"
    family = "control"
    config_model = LogConfig

    def __init__(self, config: LogConfig) -> None:
        super().__init__(config)
        self._message = text_template(config.message)

    async def run(self, run: FlowRun, payload: Any) -> Output:
        text = self._message.render(run.scope(payload))
        getattr(run.services.log, self.config.level)("flow %s: %s", run.flow_id, text)
        return self.out(payload)


class DelayConfig(NodeConfig):
    seconds: float = Field(ge=0, le=300, description="How long to wait.")


class Delay(FlowNode[DelayConfig]):
    """Waits `seconds` without blocking anything else, then passes its input on. Meant
    for async flows; in a sync flow it delays the answer."""

    type = "delay"
    name = "Delay"
    family = "control"
    config_model = DelayConfig
    io = True

    async def run(self, run: FlowRun, payload: Any) -> Output:
        await asyncio.sleep(self.config.seconds)
        return self.out(payload)


NODES = [Start, End, If, Join, Error, Log, Delay]
