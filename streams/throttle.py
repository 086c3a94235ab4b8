"""A produce-rate limit for the processing loop: records per second written to Kafka.

Temporal protects its database with a persistence QPS limit per service; Strom's database is
Kafka, so the loop limits the records it produces. Over the limit the loop does not fail
requests, it stops taking input until the debt is paid (backpressure: inputs wait in Kafka).
"""

from __future__ import annotations


class ProduceThrottle:
    """A token bucket of produced records that may go into debt (reservation style).

    Args:
        rate: Records per second; 0 or less disables the limit.
        now: Current monotonic time, seconds.

    The bucket holds one second of records at most, so an idle loop may produce a burst of
    ``rate`` records at once.
    """

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self._tokens = max(rate, 0.0)
        self._updated = now

    @property
    def enabled(self) -> bool:
        """Whether a limit is set."""
        return self.rate > 0

    def allowance(self, most: int, now: float) -> int:
        """How many inputs to take at once (at most `most`): the records the bucket holds now,
        at least one, as each input produces at least one record when it produces any."""
        if not self.enabled:
            return most
        tokens = min(self.rate, self._tokens + max(0.0, now - self._updated) * self.rate)
        return max(1, min(most, int(tokens)))

    def charge(self, records: int, now: float) -> float:
        """Counts ``records`` produced at ``now``; returns how long to stop taking input."""
        if not self.enabled or records <= 0:
            return 0.0
        if now > self._updated:
            self._tokens = min(self.rate, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
        self._tokens -= records
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate
