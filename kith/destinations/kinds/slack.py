"""Slack incoming webhooks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, field_validator

from kith.destinations.kind import Attempt, DestinationKind, KindConfig, Outgoing
from kith.destinations.kinds._http import HttpTarget
from kith.notation.rendering import TemplateSyntaxError, TextTemplate, compile_text_template


class SlackConfig(KindConfig):
    url: str = Field(
        pattern=r"^https?://\S+$",
        max_length=4096,
        description="The incoming-webhook URL Slack gave (it is a credential: write-only).",
    )
    text: str = Field(
        "{{event@type}} for {{profile@id}}",
        max_length=40_000,
        description="The message, a text template over `event@`, `profile@`, `session@`.",
    )
    timeout: float = Field(10.0, gt=0, le=120, description="Seconds per attempt.")

    @field_validator("text")
    @classmethod
    def text_compiles(cls, value: str) -> str:
        try:
            compile_text_template(value)
        except TemplateSyntaxError as error:
            raise ValueError(f"text: {error}") from None
        return value


class Slack(DestinationKind[SlackConfig]):
    """Posts a message to a Slack channel through an incoming webhook. The message is
    `{"text": <text rendered>}`, or the destination's `mapping` rendered when it has one
    (for `blocks` and the like). Slack's 4xx answers (`invalid_payload`,
    `channel_is_archived` ...) are final; 429 and 5xx are retried. Example config:
    `{"url": "https://hooks.slack.com/services/T000/B000/XXXX",
    "text": "New order of {{event@properties.total}} by {{profile@data.contact.email.main}}"}`."""

    kind = "slack"
    name = "Slack"
    config_model = SlackConfig
    secrets = ("url",)

    def __init__(self, config: SlackConfig, mapping: Any) -> None:
        super().__init__(config, mapping)
        self._text: TextTemplate = compile_text_template(config.text)
        self._target: HttpTarget | None = None

    def payload(self, scope: Mapping[str, Any]) -> Any:
        if self.mapping is not None:
            return self.mapping.render(scope)
        return {"text": self._text.render(scope)}

    async def open(self, concurrency: int) -> None:
        headers = {"content-type": "application/json"}
        self._target = HttpTarget(
            self.config.url, "POST", headers, concurrency=concurrency, timeout=self.config.timeout
        )

    async def close(self) -> None:
        if self._target is not None:
            await self._target.close()
            self._target = None

    async def send(self, batch: list[Outgoing]) -> Attempt:
        assert self._target is not None, "open() first"
        (item,) = batch
        return await self._target.send(item.body.encode())
