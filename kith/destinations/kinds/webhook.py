"""Webhooks, signed as Standard Webhooks so receivers verify them with their usual
libraries."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from typing import Any, Literal

from pydantic import Field, field_validator

from kith.destinations.kind import Attempt, DestinationKind, KindConfig, Outgoing
from kith.destinations.kinds._http import HttpTarget

SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix of every Standard Webhooks secret)


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key a `whsec_...` secret stands for; ValueError if it is not one."""
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error:
        raise ValueError("a secret is `whsec_` followed by base64") from None
    if not 16 <= len(key) <= 128:
        raise ValueError("a secret holds 16 to 128 bytes (base64 after `whsec_`)")
    return key


def signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


class WebhookConfig(KindConfig):
    url: str = Field(pattern=r"^https?://\S+$", max_length=4096, description="Where to send.")
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    headers: dict[str, str] = Field(
        default_factory=dict, description="Extra request headers (e.g. an API token)."
    )
    secret: str | None = Field(
        None,
        max_length=512,
        description="Standard Webhooks signing secret (`whsec_` + base64); generated when"
        " absent and shown once, in the answer to that PUT.",
    )
    timeout: float = Field(10.0, gt=0, le=120, description="Seconds per attempt.")

    @field_validator("secret")
    @classmethod
    def secret_is_standard(cls, value: str | None) -> str | None:
        if value is not None:
            secret_key(value)
        return value


class Webhook(DestinationKind[WebhookConfig]):
    """POSTs the payload as JSON to `url`, signed as Standard Webhooks: headers
    `webhook-id` (the delivery id, the same on every retry: deduplicate on it),
    `webhook-timestamp` (epoch seconds of this attempt) and `webhook-signature`
    (`v1,` + base64 HMAC-SHA256 of `id.timestamp.body` keyed by the secret).
    2xx is delivered; 408, 429, 5xx, timeouts and connection errors are retried
    (honouring `Retry-After`); any other 4xx makes the delivery dead. Example config:
    `{"url": "https://crm.example/hook", "method": "POST", "headers": {},
    "timeout": 10}`."""

    kind = "webhook"
    name = "Webhook"
    config_model = WebhookConfig
    secrets = ("secret",)

    def __init__(self, config: WebhookConfig, mapping: Any) -> None:
        super().__init__(config, mapping)
        self._key = secret_key(config.secret) if config.secret else None
        self._target: HttpTarget | None = None

    @classmethod
    def generated(cls, config: dict[str, Any]) -> dict[str, Any]:
        return {} if config.get("secret") else {"secret": new_secret()}

    async def open(self, concurrency: int) -> None:
        headers = {"content-type": "application/json", **self.config.headers}
        self._target = HttpTarget(
            self.config.url,
            self.config.method,
            headers,
            concurrency=concurrency,
            timeout=self.config.timeout,
        )

    async def close(self) -> None:
        if self._target is not None:
            await self._target.close()
            self._target = None

    async def send(self, batch: list[Outgoing]) -> Attempt:
        assert self._target is not None, "open() first"
        (item,) = batch
        body = item.body.encode()
        headers = [(b"webhook-id", item.id.encode())]
        if self._key is not None:
            timestamp = int(time.time())
            headers.append((b"webhook-timestamp", str(timestamp).encode()))
            headers.append(
                (b"webhook-signature", signature(self._key, item.id, timestamp, body).encode())
            )
        return await self._target.send(body, headers)
