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
        if rate <= 0 or burst < 1:
            raise ValueError(f"rate must be > 0 and burst >= 1, got rate={rate} burst={burst}")
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._updated = now

    def try_take(self, now: float, tokens: float = 1.0) -> bool:
        """Takes ``tokens`` if the bucket holds them at ``now``; False leaves it unchanged."""
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
        self._updated = max(self._updated, now)
        if self._tokens >= tokens:
            self._tokens -= tokens
            return True
        return False


class NamespaceRateLimiter:
    """One token bucket per namespace name, created on first use.

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

    def allow(self, namespace: str, tokens: float = 1.0) -> bool:
        """True if the namespace may make a request costing ``tokens`` now."""
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(namespace)
            if bucket is None:
                bucket = self._buckets[namespace] = TokenBucket(self.rate, self.burst, now)
            return bucket.try_take(now, tokens)
