"""The token bucket's arithmetic, and per-source buckets, on a clock the test moves."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kith.domain.errors import RateLimited
from kith.domain.ratelimit import TokenBucket
from kith.domain.source import RateLimit, Source
from kith.tracking.ratelimit import SourceRateLimits


def test_a_full_bucket_allows_a_burst_then_refuses_with_the_wait() -> None:
    bucket = TokenBucket(rate=2.0, burst=3)
    assert [bucket.take(1, 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(1, 0.0) == pytest.approx(0.5)
    # a refusal takes nothing: half a second later exactly one token is back
    assert bucket.take(1, 0.5) == 0.0
    assert bucket.take(1, 0.5) == pytest.approx(0.5)


def test_the_bucket_never_holds_more_than_its_burst() -> None:
    bucket = TokenBucket(rate=100.0, burst=2)
    bucket.take(2, 0.0)
    assert bucket.wait_for(2, 3600.0) == 0.0
    bucket.take(2, 3600.0)
    assert bucket.take(1, 3600.0) > 0


def test_more_than_the_burst_at_once_never_fits() -> None:
    assert math.isinf(TokenBucket(rate=1.0, burst=5).wait_for(6, 0.0))


def test_time_going_backwards_adds_nothing() -> None:
    bucket = TokenBucket(rate=1.0, burst=1)
    assert bucket.take(1, 10.0) == 0.0
    assert bucket.take(1, 5.0) > 0


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (1.0, 0)])
def test_nonsense_limits_are_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate=rate, burst=burst)


@settings(max_examples=200, deadline=None)
@given(
    rate=st.floats(0.1, 1000),
    burst=st.integers(1, 50),
    gaps=st.lists(st.floats(0, 2), min_size=1, max_size=60),
)
def test_admitted_never_exceeds_burst_plus_rate_times_elapsed(
    rate: float, burst: int, gaps: list[float]
) -> None:
    bucket = TokenBucket(rate=rate, burst=burst)
    now = 0.0
    admitted = 0
    for gap in gaps:
        now += gap
        if bucket.take(1, now) == 0.0:
            admitted += 1
    assert admitted <= burst + rate * now + 1e-6


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def limited(source_id: str, rate: float, burst: int) -> Source:
    return Source(id=source_id, rate_limit=RateLimit(rate=rate, burst=burst))


def test_sources_without_a_limit_are_never_limited() -> None:
    limits = SourceRateLimits(Clock())
    for _ in range(10_000):
        limits.admit([(Source(id="free"), 1)])


def test_each_source_has_its_own_bucket_and_a_refused_batch_takes_nothing() -> None:
    clock = Clock()
    limits = SourceRateLimits(clock)
    a, b = limited("a", 1.0, 2), limited("b", 1.0, 2)
    limits.admit([(a, 2)])
    with pytest.raises(RateLimited) as refused:
        limits.admit([(b, 1), (a, 1)])
    assert refused.value.status_code == 429 and refused.value.retry_after == 1
    limits.admit([(b, 2)])  # b's tokens were not spent by the refused batch
    clock.now += 1.0
    limits.admit([(a, 1)])


def test_changing_the_limit_replaces_the_bucket() -> None:
    limits = SourceRateLimits(Clock())
    limits.admit([(limited("a", 1.0, 1), 1)])
    with pytest.raises(RateLimited):
        limits.admit([(limited("a", 1.0, 1), 1)])
    limits.admit([(limited("a", 1.0, 5), 5)])


def test_a_batch_larger_than_the_burst_says_so() -> None:
    limits = SourceRateLimits(Clock())
    with pytest.raises(RateLimited, match="smaller batches"):
        limits.admit([(limited("a", 100.0, 3), 4)])
