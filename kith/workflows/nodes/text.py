"""Nodes that take text apart: regular expressions and URLs. Their result is the
next nodes' payload (`payload@groups.0`, `payload@query.utm_source`)."""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

import regex
from pydantic import Field, field_validator

from kith.notation.paths import MISSING
from kith.notation.rendering import as_text
from kith.workflows.node import FlowNode, NodeConfig, NodeError, Output
from kith.workflows.nodes._compile import object_template
from kith.workflows.run import FlowRun

MAX_PATTERN: Final = 1000
MAX_TEXT: Final = 100_000
"""Longest text a `regex` node matches; longer text is cut to this length."""


class RegexConfig(NodeConfig):
    pattern: str = Field(
        min_length=1,
        max_length=MAX_PATTERN,
        description="A regular expression, in Python's syntax.",
    )
    field: str = Field(
        "payload@...",
        description="What to match: an object-template leaf such as `event@hit.url`.",
    )
    group: int | str | None = Field(
        None, description="A group number or name: the payload becomes that group's text."
    )
    ignore_case: bool = Field(False, description="Match upper and lower case alike.")
    timeout: float = Field(
        0.1, gt=0, le=1, description="Seconds a match may take before the node fails."
    )

    @field_validator("pattern")
    @classmethod
    def compiles(cls, value: str) -> str:
        try:
            regex.compile(value)
        except regex.error as error:
            raise ValueError(f"pattern: {error}") from None
        return value

    @field_validator("field")
    @classmethod
    def leaf(cls, value: str) -> str:
        object_template(value)
        return value


class Regex(FlowNode[RegexConfig]):
    """Searches a text with a regular expression. On a match the payload goes out of
    `match` as `{"match": "...", "groups": [...], "named": {...}}`, or as the text of
    `group` when the config names one; otherwise the input goes out of `no-match`
    unchanged (a missing or null field does not match). Example: `{"pattern":
    "order-(?P<id>\\\\d+)", "field": "event@hit.url", "group": "id"}`. A match that takes
    longer than `timeout` (a catastrophic pattern) fails the node, and at most the
    first 100,000 characters of the text are searched."""

    type = "regex"
    name = "Regular expression"
    family = "data"
    ports = ("match", "no-match")
    config_model = RegexConfig

    def __init__(self, config: RegexConfig) -> None:
        super().__init__(config)
        flags = regex.IGNORECASE if config.ignore_case else 0
        self._pattern = regex.compile(config.pattern, flags)
        self._field = object_template(config.field)
        if config.group is not None:
            valid = (
                0 <= config.group <= self._pattern.groups
                if isinstance(config.group, int)
                else config.group in self._pattern.groupindex
            )
            if not valid:
                raise ValueError(f"the pattern has no group {config.group!r}")

    async def run(self, run: FlowRun, payload: Any) -> Output:
        value = self._field.render(run.scope(payload))
        if value is None or value is MISSING:
            return Output("no-match", payload)
        text = as_text(value)[:MAX_TEXT]
        try:
            found = self._pattern.search(text, timeout=self.config.timeout)
        except TimeoutError:
            raise NodeError(
                f"the pattern took longer than {self.config.timeout:g} s (catastrophic?)"
            ) from None
        if found is None:
            return Output("no-match", payload)
        if self.config.group is not None:
            return Output("match", found.group(self.config.group))
        return Output(
            "match",
            {"match": found.group(0), "groups": list(found.groups()), "named": found.groupdict()},
        )


class ParseUrlConfig(NodeConfig):
    url: str = Field(
        "event@hit.url",
        description="The URL: an object-template leaf (`event@hit.url`, `payload@...`).",
    )

    @field_validator("url")
    @classmethod
    def leaf(cls, value: str) -> str:
        object_template(value)
        return value


class ParseUrl(FlowNode[ParseUrlConfig]):
    """Takes a URL apart; the payload becomes `{"url", "scheme", "host", "port", "path",
    "query", "fragment"}`, where `query` maps each parameter to its value (a list when
    it appears more than once) and `host` is lower case. Credentials in the URL are
    left out. Example: `{"url": "event@hit.url"}`, then
    `payload@query.utm_campaign`. A missing value or one that is not a URL fails the
    node."""

    type = "parse-url"
    name = "Parse URL"
    family = "data"
    config_model = ParseUrlConfig

    def __init__(self, config: ParseUrlConfig) -> None:
        super().__init__(config)
        self._url = object_template(config.url)

    async def run(self, run: FlowRun, payload: Any) -> Output:
        url = self._url.render(run.scope(payload))
        if not isinstance(url, str) or not url.strip():
            raise NodeError(f"{self.config.url} holds no URL")
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError as error:
            raise NodeError(f"not a URL: {error}") from None
        query: dict[str, Any] = {
            key: values[0] if len(values) == 1 else values
            for key, values in parse_qs(parts.query, keep_blank_values=True).items()
        }
        netloc = parts.hostname or ""
        if ":" in netloc:  # an IPv6 address
            netloc = f"[{netloc}]"
        if port is not None:
            netloc = f"{netloc}:{port}"
        return self.out(
            {
                "url": parts._replace(netloc=netloc).geturl(),
                "scheme": parts.scheme,
                "host": parts.hostname,
                "port": port,
                "path": parts.path,
                "query": query,
                "fragment": parts.fragment,
            }
        )


NODES = [Regex, ParseUrl]
