"""Token buckets per namespace, driven by an injected clock."""

from __future__ import annotations

import pytest

from frontend.ratelimit import NamespaceRateLimiter, TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refill_at_rate() -> None:
    clock = Clock()
    limiter = NamespaceRateLimiter(rate=10, burst=3, clock=clock)

    assert [limiter.allow("ns") for _ in range(4)] == [True, True, True, False]
    clock.now = 0.1  # one token back
    assert [limiter.allow("ns") for _ in range(2)] == [True, False]
    clock.now = 100.0  # refills to the burst, not beyond
    assert [limiter.allow("ns") for _ in range(4)] == [True, True, True, False]


def test_namespaces_have_separate_buckets() -> None:
    limiter = NamespaceRateLimiter(rate=1, burst=1, clock=Clock())

    assert limiter.allow("a")
    assert not limiter.allow("a")
    assert limiter.allow("b")


def test_a_clock_going_back_never_adds_tokens() -> None:
    bucket = TokenBucket(rate=1, burst=1, now=10.0)

    assert bucket.try_take(10.0)
    assert not bucket.try_take(5.0)
    assert not bucket.try_take(10.5)
    assert bucket.try_take(11.0)


def test_refused_take_leaves_the_bucket() -> None:
    bucket = TokenBucket(rate=1, burst=2, now=0.0)

    assert not bucket.try_take(0.0, tokens=3)
    assert bucket.try_take(0.0, tokens=2)


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 5), (1, 0.5)])
def test_rejects_nonsense_settings(rate: float, burst: float) -> None:
    with pytest.raises(ValueError):
        NamespaceRateLimiter(rate=rate, burst=burst)


def test_a_namespace_rate_overrides_the_default_with_a_burst_in_ratio() -> None:
    clock = Clock()
    limiter = NamespaceRateLimiter(rate=100, burst=200, clock=clock)

    assert [limiter.allow("slow", rate=2) for _ in range(5)] == [True, True, True, True, False]
    clock.now = 0.5  # one token at 2/s
    assert [limiter.allow("slow", rate=2) for _ in range(2)] == [True, False]
    assert all(limiter.allow("fast") for _ in range(150))


def test_changing_a_rate_keeps_earned_tokens_up_to_the_new_burst() -> None:
    clock = Clock()
    limiter = NamespaceRateLimiter(rate=10, burst=10, clock=clock)
    assert limiter.allow("ns")  # 9 left

    assert [limiter.allow("ns", rate=1) for _ in range(2)] == [True, False]  # burst now 1
    clock.now = 1.0
    assert limiter.allow("ns", rate=1)
