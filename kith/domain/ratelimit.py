"""A token bucket: the arithmetic of per-source rate limiting, with time passed in.

A bucket holds at most `burst` tokens and refills at `rate` tokens a second; a
request takes one token per tracker payload it carries. Time is an argument so
the rule is pure and tested without sleeping; `tracking/ratelimit.py` keeps one
bucket per source and feeds it the monotonic clock."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(slots=True)
class TokenBucket:
    rate: float
    """Tokens added per second (> 0)."""
    burst: int
    """Most tokens the bucket holds: the largest burst allowed after a quiet spell."""
    tokens: float = -1.0
    updated: float = 0.0

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError("a token bucket needs rate > 0 and burst >= 1")
        if self.tokens < 0:
            self.tokens = float(self.burst)

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate)
        self.updated = max(self.updated, now)

    def wait_for(self, count: int, now: float) -> float:
        """Seconds until `count` tokens are available (0.0 when they are now)."""
        self._refill(now)
        if count > self.burst:
            return math.inf
        missing = count - self.tokens
        return 0.0 if missing <= 0 else missing / self.rate

    def take(self, count: int, now: float) -> float:
        """Take `count` tokens if they are there and return 0.0; otherwise take
        nothing and return the seconds to wait. A refused request costs nothing,
        so a client that backs off as told gets through."""
        wait = self.wait_for(count, now)
        if wait == 0.0:
            self.tokens -= count
        return wait
