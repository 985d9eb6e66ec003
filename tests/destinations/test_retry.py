"""The retry schedule and which answers are final (pure logic)."""

from __future__ import annotations

import pytest

from kith.destinations.retry import RetryPolicy, http_attempt, retry_after_seconds


@pytest.mark.parametrize(("attempts", "full"), [(1, 5), (2, 10), (3, 20), (9, 1280), (10, 1800)])
def test_backoff_doubles_up_to_the_cap_with_half_of_it_jitter(attempts: int, full: float) -> None:
    policy = RetryPolicy(base=5, cap=1800)
    waits = [policy.delay(attempts) for _ in range(500)]
    assert all(full / 2 <= wait <= full for wait in waits)
    assert max(waits) - min(waits) > full / 4  # jitter spreads them


def test_retry_after_wins_when_longer_and_never_shortens_the_backoff() -> None:
    policy = RetryPolicy(base=5, cap=1800)
    assert policy.delay(1, retry_after=120) == 120
    assert 2.5 <= policy.delay(1, retry_after=0) <= 5
    assert policy.delay(1, retry_after=10 * 86400) == 86400  # a day at most


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = 1_767_225_600.0  # 2026-01-01T00:00:00Z
    assert retry_after_seconds("30", now) == 30
    assert retry_after_seconds("Thu, 01 Jan 2026 00:01:00 GMT", now) == 60
    assert retry_after_seconds("Wed, 31 Dec 2025 00:00:00 GMT", now) == 0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


@pytest.mark.parametrize(
    ("status", "delivered", "retry"),
    [
        (200, True, False),
        (204, True, False),
        (301, False, True),
        (400, False, False),
        (401, False, False),
        (404, False, False),
        (408, False, True),
        (410, False, False),
        (429, False, True),
        (500, False, True),
        (503, False, True),
    ],
)
def test_status_classes(status: int, delivered: bool, retry: bool) -> None:
    attempt = http_attempt(status, "body", None)
    assert (attempt.delivered, attempt.retry, attempt.status) == (delivered, retry, status)
