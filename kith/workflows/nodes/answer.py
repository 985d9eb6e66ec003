"""Nodes that shape what the run answers and passes on: `ux` items and `response`
values for the browser, and payloads built from templates."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from kith.workflows.node import FlowNode, NodeConfig, Output
from kith.workflows.nodes._compile import object_template, text_template
from kith.workflows.run import FlowRun


class UxConfig(NodeConfig):
    tag: str = Field("div", pattern=r"^[a-zA-Z][a-zA-Z0-9-]{0,31}$", description="HTML tag.")
    props: dict[str, Any] = Field(
        default_factory=dict, description="Attributes; values are object-template leaves."
    )
    content: str = Field("", max_length=65536, description="Text content (a text template).")

    @field_validator("props")
    @classmethod
    def props_compile(cls, value: dict[str, Any]) -> dict[str, Any]:
        object_template(value)
        return value

    @field_validator("content")
    @classmethod
    def content_compiles(cls, value: str) -> str:
        text_template(value)
        return value


class Ux(FlowNode[UxConfig]):
    """Adds an item to the answer's `ux`, which Kith's browser tracker renders into the
    page as an element (its content as text, never as HTML). Example: `{"tag": "div",
    "props": {"class": "hello"}, "content": "Thanks {{profile@data.pii.firstname}}"}`."""

    type = "ux"
    name = "UX item"
    family = "answer"
    config_model = UxConfig

    def __init__(self, config: UxConfig) -> None:
        super().__init__(config)
        self._props = object_template(config.props)
        self._content = text_template(config.content)

    async def run(self, run: FlowRun, payload: Any) -> Output:
        scope = run.scope(payload)
        run.ux.append(
            {
                "tag": self.config.tag,
                "props": self._props.render(scope),
                "content": self._content.render(scope),
            }
        )
        return self.out(payload)


class ResponseConfig(NodeConfig):
    key: str = Field(min_length=1, max_length=256, description="The key in `response`.")
    value: Any = Field(description="An object-template leaf or document.")

    @field_validator("value")
    @classmethod
    def compiles(cls, value: Any) -> Any:
        object_template(value)
        return value


class Response(FlowNode[ResponseConfig]):
    """Sets `response[key]` in the `/track` answer (sync flows). Example:
    `{"key": "discount", "value": "profile@traits.discount"}`."""

    type = "response"
    name = "Response value"
    family = "answer"
    config_model = ResponseConfig

    def __init__(self, config: ResponseConfig) -> None:
        super().__init__(config)
        self._value = object_template(config.value)

    async def run(self, run: FlowRun, payload: Any) -> Output:
        run.response[self.config.key] = self._value.render(run.scope(payload))
        return self.out(payload)


class InjectConfig(NodeConfig):
    value: Any = Field(description="An object template: the new payload.")

    @field_validator("value")
    @classmethod
    def compiles(cls, value: Any) -> Any:
        object_template(value)
        return value


class Inject(FlowNode[InjectConfig]):
    """Replaces the payload with `value` rendered as an object template, e.g.
    `{"value": {"email": "profile@data.contact.email.main", "total": "event@properties.total"}}`."""

    type = "inject"
    name = "Inject payload"
    family = "data"
    config_model = InjectConfig

    def __init__(self, config: InjectConfig) -> None:
        super().__init__(config)
        self._value = object_template(config.value)

    async def run(self, run: FlowRun, payload: Any) -> Output:
        return self.out(self._value.render(run.scope(payload)))


class TemplateConfig(NodeConfig):
    template: str = Field(max_length=65536, description="A text template.")

    @field_validator("template")
    @classmethod
    def compiles(cls, value: str) -> str:
        text_template(value)
        return value


class Template(FlowNode[TemplateConfig]):
    """Renders a text template; the text is the new payload. Example:
    `{"template": "Order {{event@properties.id}} by {{profile@data.contact.email.main}}"}`."""

    type = "template"
    name = "Text template"
    family = "data"
    config_model = TemplateConfig

    def __init__(self, config: TemplateConfig) -> None:
        super().__init__(config)
        self._template = text_template(config.template)

    async def run(self, run: FlowRun, payload: Any) -> Output:
        return self.out(self._template.render(run.scope(payload)))


NODES = [Ux, Response, Inject, Template]
