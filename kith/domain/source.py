"""Event sources: the collector's credential and its per-source behaviour."""

from __future__ import annotations

from typing import Literal

import msgspec

Bridge = Literal["rest", "webhook", "redirect", "segment"]


class RateLimit(msgspec.Struct, kw_only=True):
    """A source's token bucket: `rate` payloads a second, bursts of up to `burst`."""

    rate: float
    burst: int


class Source(msgspec.Struct, kw_only=True):
    """An event source as API.md's Source describes it."""

    id: str
    name: str = ""
    bridges: list[Bridge] = msgspec.field(default_factory=lambda: ["rest"])
    enabled: bool = True
    ephemeral: bool = False
    static_profile_id: bool = False
    channel: str = "web"
    tags: list[str] = msgspec.field(default_factory=list)
    allowed_origins: list[str] = msgspec.field(default_factory=lambda: ["*"])
    description: str = ""
    rate_limit: RateLimit | None = None
    """None (the default): no limit."""
    async_: bool = msgspec.field(default=False, name="async")
    """Async storage by default for this source's payloads (`options.async` decides
    when a payload gives it)."""

    def accepts(self, bridge: Bridge) -> bool:
        """True when this source may feed the collector through `bridge`."""
        return self.enabled and not self.id.startswith("@") and bridge in self.bridges


INTERNAL_SOURCE_ID = "@internal"


def normalise_source_id(raw: str) -> str:
    return raw.strip().lower()
