"""Outbound HTTP for the kinds that speak it: one connection pool per destination.

Each destination gets its own pool sized to its concurrency, so a receiver that
hangs holds only its own connections. Redirects are not followed (a delivery
goes where it was configured to go). Deliveries go through httpcore2, the
transport under the httpx2 client the rest of Kith uses, called directly (a
delivery needs no cookies, auth flows or URL merging) over an asyncio network
backend instead of anyio's; each of the two made sending faster (measured; see
bench/README.md)."""

from __future__ import annotations

import time

import httpcore2 as httpcore

from kith.destinations.kind import Attempt
from kith.destinations.kinds._network import AsyncioBackend
from kith.destinations.retry import failed, http_attempt, retry_after_seconds

USER_AGENT = b"Kith-Destinations/1"
_TRANSPORT_ERRORS = (
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.ConnectionNotAvailable,
    OSError,
)


class HttpTarget:
    """One URL and method, its headers, and a pool of up to `concurrency` connections."""

    def __init__(
        self,
        url: str,
        method: str,
        headers: dict[str, str],
        *,
        concurrency: int,
        timeout: float,
    ) -> None:
        self.url = url
        self.method = method.encode()
        self._headers = [(b"user-agent", USER_AGENT)] + [
            (name.lower().encode(), value.encode()) for name, value in headers.items()
        ]
        self._timeout = {
            "timeout": {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
        }
        self._pool = httpcore.AsyncConnectionPool(
            max_connections=concurrency,
            max_keepalive_connections=concurrency,
            keepalive_expiry=30.0,
            http1=True,
            http2=False,
            retries=0,
            network_backend=AsyncioBackend(),
        )

    async def send(self, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> Attempt:
        """One attempt, classified (see `http_attempt`); transport errors and timeouts
        are retried."""
        all_headers = [
            *self._headers,
            *(headers or ()),
            (b"content-length", str(len(body)).encode()),
        ]
        try:
            response = await self._pool.request(
                self.method,
                self.url,
                headers=all_headers,
                content=body,
                extensions=self._timeout,
            )
        except _TRANSPORT_ERRORS as error:
            return failed(error)
        retry_after = None
        for name, value in response.headers:
            if name.lower() == b"retry-after":
                retry_after = retry_after_seconds(value.decode("latin-1"), time.time())
        text = response.content[:4096].decode("utf-8", "replace")
        return http_attempt(response.status, text, retry_after)

    async def close(self) -> None:
        await self._pool.aclose()
