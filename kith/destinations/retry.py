"""When to try a delivery again, and which answers are final.

Exponential backoff with jitter: the n-th retry waits `base * 2**(n-1)` seconds,
capped at `cap`, of which a random half is jitter (so deliveries that failed
together do not come back together). A receiver's `Retry-After` is honoured
when it asks for longer. A delivery is tried until it is `max_age` old; the
last try is at that moment, and a failure then makes it dead."""

from __future__ import annotations

import random
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from kith.destinations.kind import Attempt

ANSWER_LIMIT = 2048
"""Characters of a remote answer kept for `POST .../test` and `last_error`."""


@dataclass(slots=True, frozen=True)
class RetryPolicy:
    base: float = 5.0
    cap: float = 1800.0

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        """Seconds before the next try after `attempts` failed tries."""
        full = min(self.cap, self.base * 2.0 ** max(0, attempts - 1))
        wait = full / 2 + random.uniform(0, full / 2)
        if retry_after is not None:
            wait = max(wait, min(retry_after, 24 * 3600.0))
        return wait


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """`Retry-After` as seconds from `now` (epoch seconds): a number or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - now)


def http_attempt(status: int, text: str, retry_after: float | None) -> Attempt:
    """2xx delivered; 408, 429 and 5xx retried; any other 4xx dead; 1xx and 3xx (Kith
    follows no redirects) retried, as nothing says the receiver got it."""
    answer = text[:ANSWER_LIMIT]
    if 200 <= status < 300:
        return Attempt(status=status, answer=answer)
    final = 400 <= status < 500 and status not in (408, 429)
    return Attempt(
        status=status,
        error=f"HTTP {status}: {answer[:200]}" if answer else f"HTTP {status}",
        retry=not final,
        retry_after=retry_after,
        answer=answer,
    )


def failed(error: BaseException, *, retry: bool = True) -> Attempt:
    """An attempt that got no answer (connection refused, timeout ...)."""
    text = str(error) or type(error).__name__
    return Attempt(error=f"{type(error).__name__}: {text}"[:ANSWER_LIMIT], retry=retry)
