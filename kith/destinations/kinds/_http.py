"""Outbound HTTP for the kinds that speak it: one async client per destination.

Each destination gets its own connection pool sized to its concurrency, so a
receiver that hangs holds only its own connections. Redirects are not followed
(a delivery goes where it was configured to go)."""

from __future__ import annotations

import time

import httpx2 as httpx

from kith.destinations.kind import Attempt
from kith.destinations.retry import failed, http_attempt, retry_after_seconds

USER_AGENT = "Kith-Destinations/1"


def http_client(concurrency: int, timeout: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        follow_redirects=False,
        timeout=httpx.Timeout(timeout),
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        headers={"user-agent": USER_AGENT},
    )


async def request(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    body: bytes,
    headers: dict[str, str],
) -> Attempt:
    """One HTTP attempt, classified (see `http_attempt`); transport errors and timeouts
    are retried."""
    try:
        response = await client.request(method, url, content=body, headers=headers)
    except httpx.TransportError as error:  # connect, read, write, timeouts, protocol
        return failed(error)
    wait = retry_after_seconds(response.headers.get("retry-after"), time.time())
    return http_attempt(response.status_code, response.text, wait)
