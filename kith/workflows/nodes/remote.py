"""Nodes that call other systems over HTTP: any API (`http-call`) and Slack.

Both use the process's one async HTTP client (`run.services.http`), so a call
waits without blocking the event loop and reuses its connections. Meant for
async flows: a sync flow would hold the `/track` answer for the call. A failure
(no connection, a timeout, a non-2xx answer) fails the node, and the node's
`on_error` decides what follows (`"port"` sends `{"error", "input"}` out of
`error`). Error messages name the URL without its credentials or query, which
often carry tokens."""

from __future__ import annotations

from typing import Any, Final, Literal

import httpx2 as httpx
import orjson
from pydantic import Field, SecretStr, field_validator

from kith.workflows.node import FlowNode, NodeConfig, NodeError, Output
from kith.workflows.nodes._compile import object_template, text_template
from kith.workflows.run import FlowRun

MAX_RESPONSE: Final = 1024 * 1024
"""Largest response body an `http-call` reads; a larger one fails the node."""
MAX_SNIPPET: Final = 200


def shown(url: httpx.URL) -> str:
    """The URL as error messages show it: no user, password, query or fragment."""
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.host}{port}{url.path}"


def checked_url(text: str) -> httpx.URL:
    try:
        url = httpx.URL(text.strip())
    except (httpx.InvalidURL, ValueError) as error:
        raise NodeError(f"not a URL: {error}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise NodeError("the URL must be http:// or https:// with a host")
    return url


def _reason(error: Exception, url: httpx.URL) -> str:
    """The error's type and text, without the URL's credentials or query."""
    text = str(error).replace(str(url), shown(url))
    for secret in (url.password, url.query.decode()):
        if secret:
            text = text.replace(secret, "***")
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _decoded(response: httpx.Response, content: bytes) -> Any:
    """JSON when the answer says it is JSON (and is), text otherwise."""
    if "json" in response.headers.get("content-type", "").lower():
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError:
            pass
    return content.decode(response.encoding or "utf-8", errors="replace")


async def _request(
    run: FlowRun,
    method: str,
    url: httpx.URL,
    *,
    headers: dict[str, str],
    body: Any,
    seconds: float,
    where: str,
) -> tuple[httpx.Response, bytes]:
    """One request through the shared client, the body read up to MAX_RESPONSE;
    `where` names the URL in error messages."""
    try:
        async with run.services.http.stream(
            method,
            url,
            headers=headers,
            content=None if body is None else orjson.dumps(body),
            timeout=httpx.Timeout(seconds),
        ) as response:
            content = bytearray()
            async for chunk in response.aiter_bytes():
                content += chunk
                if len(content) > MAX_RESPONSE:
                    raise NodeError(f"{where}: the answer is larger than {MAX_RESPONSE} bytes")
    except httpx.TimeoutException:
        raise NodeError(f"{method} {where}: no answer in {seconds:g} s") from None
    except httpx.HTTPError as error:
        raise NodeError(f"{method} {where}: {_reason(error, url)}") from None
    return response, bytes(content)


class HttpCallConfig(NodeConfig):
    url: str = Field(min_length=1, max_length=8192, description="A text template.")
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "POST"
    headers: dict[str, str] = Field(
        default_factory=dict, description="Header -> value; values are text templates."
    )
    body: Any = Field(None, description="An object template sent as JSON; null sends no body.")
    timeout: float = Field(
        5, gt=0, le=300, description="Seconds to wait for the answer (see the node's `timeout`)."
    )
    fail_on_status: bool = Field(True, description="A non-2xx answer fails the node.")

    @field_validator("url")
    @classmethod
    def url_compiles(cls, value: str) -> str:
        text_template(value)
        return value

    @field_validator("headers")
    @classmethod
    def headers_compile(cls, value: dict[str, str]) -> dict[str, str]:
        for header in value.values():
            text_template(header)
        return value

    @field_validator("body")
    @classmethod
    def body_compiles(cls, value: Any) -> Any:
        object_template(value)
        return value


class HttpCall(FlowNode[HttpCallConfig]):
    """Calls an HTTP API and passes on its answer as `{"status": 200, "body": ...}`
    (the body decoded from JSON when the answer is JSON, else text; at most 1 MiB).
    `url` and header values are text templates, `body` an object template sent as
    JSON. Example: `{"url": "https://crm.example.com/api/contacts/{{profile@id}}",
    "method": "PUT", "headers": {"Authorization": "Bearer abc"}, "body": {"email":
    "profile@data.contact.email.main", "total": "event@properties.total"},
    "timeout": 5}`. No connection, no answer within `timeout` and, unless
    `fail_on_status` is false, a non-2xx status fail the node; give it `"on_error":
    "port"` to handle those on its `error` port. The node's own `timeout` (beside
    `config`, 5 s by default) bounds the whole node: raise both for slow APIs."""

    type = "http-call"
    name = "HTTP call"
    family = "remote"
    config_model = HttpCallConfig
    io = True

    def __init__(self, config: HttpCallConfig) -> None:
        super().__init__(config)
        self._url = text_template(config.url)
        self._headers = {name: text_template(value) for name, value in config.headers.items()}
        self._body = None if config.body is None else object_template(config.body)

    async def run(self, run: FlowRun, payload: Any) -> Output:
        scope = run.scope(payload)
        url = checked_url(self._url.render(scope))
        headers = {name: value.render(scope) for name, value in self._headers.items()}
        if any("\r" in v or "\n" in v for v in headers.values()):
            raise NodeError("a header value holds a line break")
        body = None if self._body is None else self._body.render(scope)
        if body is not None and not any(name.lower() == "content-type" for name in headers):
            headers["content-type"] = "application/json"
        method = self.config.method
        response, content = await _request(
            run,
            method,
            url,
            headers=headers,
            body=body,
            seconds=self.config.timeout,
            where=shown(url),
        )
        decoded = _decoded(response, content)
        if self.config.fail_on_status and not response.is_success:
            snippet = content[:MAX_SNIPPET].decode("utf-8", errors="replace")
            raise NodeError(f"{method} {shown(url)} answered {response.status_code}: {snippet}")
        return self.out({"status": response.status_code, "body": decoded})


class SlackConfig(NodeConfig):
    webhook: SecretStr = Field(
        description="The incoming-webhook URL Slack gave (a secret: never shown in traces)."
    )
    text: str = Field(min_length=1, max_length=40000, description="A text template.")
    timeout: float = Field(5, gt=0, le=300)

    @field_validator("webhook")
    @classmethod
    def webhook_is_url(cls, value: SecretStr) -> SecretStr:
        try:
            checked_url(value.get_secret_value())
        except NodeError as error:
            raise ValueError(f"webhook: {error}") from None
        return value

    @field_validator("text")
    @classmethod
    def text_compiles(cls, value: str) -> str:
        text_template(value)
        return value


class Slack(FlowNode[SlackConfig]):
    """Posts a message to a Slack channel through an incoming webhook and passes its
    input on. Example: `{"webhook": "https://hooks.slack.com/services/T000/B000/XXXX",
    "text": "New order of {{event@properties.total}} from
    {{profile@data.contact.email.main|default:'someone'}}"}`. An answer other than
    2xx fails the node."""

    type = "slack"
    name = "Slack message"
    family = "remote"
    config_model = SlackConfig
    io = True

    def __init__(self, config: SlackConfig) -> None:
        super().__init__(config)
        self._text = text_template(config.text)

    async def run(self, run: FlowRun, payload: Any) -> Output:
        url = checked_url(self.config.webhook.get_secret_value())
        text = self._text.render(run.scope(payload))
        response, content = await _request(
            run,
            "POST",
            url,
            headers={"content-type": "application/json"},
            body={"text": text},
            seconds=self.config.timeout,
            where="the Slack webhook",
        )
        if not response.is_success:
            snippet = content[:MAX_SNIPPET].decode("utf-8", errors="replace")
            raise NodeError(f"Slack answered {response.status_code}: {snippet}")
        return self.out(payload)


NODES = [HttpCall, Slack]
