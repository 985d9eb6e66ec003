"""Per-source rate limits for the collector: one token bucket per source, in process.

The limit is read from the source on every request (the source comes from the
registry cache), so a change made through the admin API takes effect when the
cache entry expires; the bucket is replaced when the source's rate or burst
changes. Buckets live in this process only: with several processes behind a
load balancer each enforces the limit on its own share of the traffic."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable

from kith.domain.errors import RateLimited
from kith.domain.ratelimit import TokenBucket
from kith.domain.source import Source

_MAX_BUCKETS = 10_000


class SourceRateLimits:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    def _bucket(self, source: Source) -> TokenBucket | None:
        limit = source.rate_limit
        if limit is None:
            return None
        bucket = self._buckets.get(source.id)
        if bucket is None or bucket.rate != limit.rate or bucket.burst != limit.burst:
            if len(self._buckets) >= _MAX_BUCKETS:
                self._buckets.clear()
            bucket = TokenBucket(limit.rate, limit.burst, updated=self._clock())
            self._buckets[source.id] = bucket
        return bucket

    def admit(self, demands: Iterable[tuple[Source, int]]) -> None:
        """Take `count` tokens from each source's bucket, or none at all and raise
        RateLimited (429) with the longest wait, so a refused batch stores nothing
        and spends nobody's tokens."""
        now = self._clock()
        wanted: dict[str, tuple[TokenBucket, int]] = {}
        for source, count in demands:
            bucket = self._bucket(source)
            if bucket is not None:
                held = wanted.get(source.id)
                wanted[source.id] = (bucket, count + (held[1] if held else 0))
        wait = max((b.wait_for(n, now) for b, n in wanted.values()), default=0.0)
        if math.isinf(wait):
            raise RateLimited(
                "More payloads in one request than the source's rate-limit burst; "
                "send smaller batches",
                retry_after=60,
            )
        if wait > 0:
            raise RateLimited(
                "Too many requests for this source; retry later", retry_after=math.ceil(wait)
            )
        for bucket, count in wanted.values():
            bucket.take(count, now)
