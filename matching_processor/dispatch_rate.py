"""Task-queue dispatch rates: Temporal's ``max_tasks_per_second`` of activity pollers (pure).

A worker sets ``task_queue_metadata.max_tasks_per_second`` on its activity polls; matching
then hands out the queue's activity tasks at no more than that rate, the most recent poll
that set it winning (Temporal's rule). Dispatches reserve their slot in a token bucket
(burst = the rate, at least one task) and wait for it, so concurrent pollers are spaced too.

The rate applies per matching process: with the queue's partitions spread over several
processes, each one allows the full rate.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class _Bucket:
    rate: float
    tokens: float
    updated: float

    @property
    def burst(self) -> float:
        return max(1.0, self.rate)

    def refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now


class DispatchRates:
    """Dispatch-rate buckets by (namespace, task queue); only queues with a rate have one.

    Time is passed in (seconds, monotonic), so the class does no I/O.
    """

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def set_rate(self, namespace: str, task_queue: str, rate: float, now: float) -> None:
        """Sets a queue's rate, as a poll's ``max_tasks_per_second`` asks.

        A rate that is not positive or not finite is ignored (Temporal's SDKs never send one).
        """
        if not 0 < rate < float("inf"):
            return
        key = (namespace, task_queue)
        bucket = self._buckets.get(key)
        if bucket is None:
            self._buckets[key] = _Bucket(rate, max(1.0, rate), now)
            return
        bucket.refill(now)
        bucket.rate = rate
        bucket.tokens = min(bucket.tokens, bucket.burst)

    def reserve(self, namespace: str, task_queue: str, now: float) -> float:
        """Reserves one dispatch; returns the seconds to wait before handing the task out."""
        bucket = self._buckets.get((namespace, task_queue))
        if bucket is None:
            return 0.0
        bucket.refill(now)
        bucket.tokens -= 1.0
        return 0.0 if bucket.tokens >= 0 else -bucket.tokens / bucket.rate

    def cancel(self, namespace: str, task_queue: str, now: float) -> None:
        """Gives back a reservation whose task was not handed out."""
        bucket = self._buckets.get((namespace, task_queue))
        if bucket is not None:
            bucket.refill(now)
            bucket.tokens = min(bucket.burst, bucket.tokens + 1.0)
