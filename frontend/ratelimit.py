"""Token-bucket rate limiting of requests per namespace."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

Clock = Callable[[], float]
"""Seconds from an arbitrary origin that never go backwards (``time.monotonic``)."""


class TokenBucket:
    """A bucket of ``burst`` tokens refilled at ``rate`` tokens per second.

    Not thread-safe by itself; ``NamespaceRateLimiter`` serializes access.
    """

    def __init__(self, rate: float, burst: float, now: float) -> None:
        _check(rate, burst)
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._updated = now

    def reconfigure(self, rate: float, burst: float, now: float) -> None:
        """Changes rate and burst, keeping the tokens earned so far (capped at the new burst)."""
        _check(rate, burst)
        self._refill(now)
        self.rate, self.burst = rate, burst
        self._tokens = min(self._tokens, burst)

    def try_take(self, now: float, tokens: float = 1.0) -> bool:
        """Takes ``tokens`` if the bucket holds them at ``now``; False leaves it unchanged."""
        self._refill(now)
        if self._tokens >= tokens:
            self._tokens -= tokens
            return True
        return False

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
        self._updated = max(self._updated, now)


def _check(rate: float, burst: float) -> None:
    if rate <= 0 or burst < 1:
        raise ValueError(f"rate must be > 0 and burst >= 1, got rate={rate} burst={burst}")


class NamespaceRateLimiter:
    """One token bucket per namespace name, created on first use.

    ``rate`` and ``burst`` are the cluster default (Temporal's frontend.namespaceRPS and its
    burst); a namespace with its own rate gets a burst in the same ratio to it, at least 1.

    Callers must only pass names of existing namespaces, so the number of buckets stays
    bounded by the number of namespaces.
    """

    def __init__(self, rate: float, burst: float, clock: Clock = time.monotonic) -> None:
        TokenBucket(rate, burst, 0.0)  # validates the arguments up front
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, TokenBucket] = {}

    def allow(self, namespace: str, tokens: float = 1.0, rate: float | None = None) -> bool:
        """True if the namespace may make a request costing ``tokens`` now.

        Args:
            namespace: Namespace name.
            tokens: Cost of the request.
            rate: The namespace's own requests per second; None for the cluster default.
                A changed rate applies from this call on.
        """
        rate = self.rate if rate is None else rate
        burst = self.burst if rate == self.rate else max(1.0, rate * self.burst / self.rate)
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(namespace)
            if bucket is None:
                bucket = self._buckets[namespace] = TokenBucket(rate, burst, now)
            elif bucket.rate != rate or bucket.burst != burst:
                bucket.reconfigure(rate, burst, now)
            return bucket.try_take(now, tokens)
