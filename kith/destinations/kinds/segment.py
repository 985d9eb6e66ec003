"""Segment's HTTP tracking API (`/v1/batch`), spoken to Segment or anything compatible
(RudderStack, Kith's own `/v1`)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import orjson
from pydantic import Field

from kith.destinations.kind import Attempt, DestinationKind, KindConfig, Outgoing
from kith.destinations.kinds._http import HttpTarget
from kith.domain.clock import iso, utcnow

BATCH = 100
"""Messages per request: Segment accepts up to 500 KB a batch, 32 KB a message."""


class SegmentConfig(KindConfig):
    url: str = Field(
        "https://api.segment.io",
        pattern=r"^https?://\S+$",
        max_length=4096,
        description="The API's base URL (`/v1/batch` is appended unless it is there).",
    )
    write_key: str = Field(min_length=1, max_length=1024, description="Write-only.")
    timeout: float = Field(10.0, gt=0, le=120, description="Seconds per attempt.")


def _traits(profile: Mapping[str, Any]) -> dict[str, Any]:
    data = profile.get("data") or {}
    pii = data.get("pii") or {}
    contact = data.get("contact") or {}
    traits: dict[str, Any] = dict(profile.get("traits") or {})
    for name, value in (
        ("email", (contact.get("email") or {}).get("main")),
        ("phone", (contact.get("phone") or {}).get("main")),
        ("firstName", pii.get("firstname")),
        ("lastName", pii.get("lastname")),
    ):
        if value is not None:
            traits.setdefault(name, value)
    return traits


def segment_message(scope: Mapping[str, Any]) -> dict[str, Any]:
    """A `track` message for an event, an `identify` for a profile destination."""
    profile = scope.get("profile") or {}
    event = scope.get("event")
    identity: dict[str, Any] = {"anonymousId": profile.get("id")}
    user_id = ((profile.get("data") or {}).get("identifier") or {}).get("id")
    if user_id:
        identity["userId"] = user_id
    if event is None:
        return {"type": "identify", **identity, "traits": _traits(profile)}
    time = (event.get("metadata") or {}).get("time") or {}
    if identity["anonymousId"] is None:
        identity["anonymousId"] = (event.get("session") or {}).get("id") or event.get("id")
    return {
        "type": "track",
        "event": event.get("type"),
        "messageId": event.get("id"),
        **identity,
        "properties": event.get("properties") or {},
        "timestamp": time.get("create") or time.get("insert"),
        "context": {"library": {"name": "kith", "version": "1"}},
    }


class Segment(DestinationKind[SegmentConfig]):
    """Forwards to a Segment-compatible HTTP API as `POST /v1/batch` with the write key
    as Basic auth, up to 100 messages per request. By default an event becomes a
    `track` message (`event` its type, `properties` its properties, `anonymousId` the
    profile id, `userId` the profile's `data.identifier.id`) and a profile destination
    sends `identify` with the profile's traits, e-mail, phone and names; a `mapping`
    replaces the message (it must then carry `type`). A message without `messageId`
    gets the delivery id. Example config: `{"url": "https://api.segment.io",
    "write_key": "..."}`."""

    kind = "segment"
    name = "Segment"
    config_model = SegmentConfig
    secrets = ("write_key",)
    batch_size = BATCH

    def __init__(self, config: SegmentConfig, mapping: Any) -> None:
        super().__init__(config, mapping)
        base = config.url.rstrip("/")
        self._url = base if base.endswith("/v1/batch") else base + "/v1/batch"
        token = base64.b64encode(f"{config.write_key}:".encode()).decode()
        self._headers = {"content-type": "application/json", "authorization": f"Basic {token}"}
        self._target: HttpTarget | None = None

    def payload(self, scope: Mapping[str, Any]) -> Any:
        if self.mapping is not None:
            return self.mapping.render(scope)
        return segment_message(scope)

    async def open(self, concurrency: int) -> None:
        self._target = HttpTarget(
            self._url, "POST", self._headers, concurrency=concurrency, timeout=self.config.timeout
        )

    async def close(self) -> None:
        if self._target is not None:
            await self._target.close()
            self._target = None

    async def send(self, batch: list[Outgoing]) -> Attempt:
        assert self._target is not None, "open() first"
        messages = []
        for item in batch:
            message = orjson.loads(item.body)
            if isinstance(message, dict):
                message.setdefault("messageId", item.id)
            messages.append(message)
        body = orjson.dumps({"batch": messages, "sentAt": iso(utcnow())})
        return await self._target.send(body)
