"""What nodes may use of the outside world, given to every run.

Built once per process (the HTTP client keeps its connection pool); nodes never
create clients of their own, and never block the event loop: HTTP is httpx's
async client, e-mail aiosmtplib."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx2 as httpx

from kith.domain.consent import ConsentType
from kith.domain.document import Document
from kith.storage.ports import Storage


class DestinationQueue(Protocol):
    async def enqueue(self, destination: str, event: Document, profile: Document | None) -> str:
        """Queue a delivery to `destination`; its id."""
        ...


class ConsentTypes(Protocol):
    async def all(self) -> dict[str, ConsentType]:
        """The consent types by id (cached configuration)."""
        ...


@dataclass(slots=True)
class NodeServices:
    storage: Storage
    http: httpx.AsyncClient
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("kith.flows"))
    destinations: DestinationQueue | None = None
    consent_types: ConsentTypes | None = None
    """For the consent nodes: expiry and defaults of each consent type (none: a
    grant never expires and no type has a default)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """For plugin nodes: services a plugin package registers under its own name."""

    async def close(self) -> None:
        await self.http.aclose()


def node_services(storage: Storage, consent_types: ConsentTypes | None = None) -> NodeServices:
    client = httpx.AsyncClient(follow_redirects=False, timeout=httpx.Timeout(10.0))
    return NodeServices(storage=storage, http=client, consent_types=consent_types)
