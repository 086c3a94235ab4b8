"""Who polled which queue partition lately: Temporal's poller history, pure (no I/O, no clock).

DescribeTaskQueue lists a partition's pollers from here, and a sticky queue counts as having
a worker while a poll waits on it or one ended less than `STICKY_UNAVAILABLE_AFTER_MS` ago
(Temporal's stickyWorkerAvailable): a workflow task for a sticky queue without a worker goes
to the normal queue instead of waiting out its schedule-to-start timeout.

Contract:
    - A poll is recorded when it arrives and again when it ends, unless it was cancelled;
      the record is keyed by the poller's identity (Temporal's pollerIdentity), so a worker
      with several concurrent polls is one poller.
    - Entries older than `ttl_ms` are gone (Temporal's matching.PollerHistoryTTL, 5 minutes).
    - `forget` drops a partition's pollers at once (ShutdownWorker unloads a sticky queue).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from matching_processor.queues import QueueKey

POLLER_HISTORY_TTL_MS = 5 * 60 * 1000
"""How long a poller stays listed after its last poll (matching.PollerHistoryTTL)."""
STICKY_UNAVAILABLE_AFTER_MS = 10_000
"""A sticky queue without a poll for this long has no worker (stickyPollerUnavailableWindow)."""
DEFAULT_RATE_PER_SECOND = 100_000.0
"""Rate reported for a poller that sets no max_tasks_per_second (defaultTaskDispatchRPS)."""


@dataclass(frozen=True)
class PollerRecord:
    """One poller as DescribeTaskQueue shows it.

    Attributes:
        identity: The worker's identity.
        last_access_ms: When it last polled (epoch ms).
        rate_per_second: Its max_tasks_per_second, or `DEFAULT_RATE_PER_SECOND`.
        worker_version_capabilities: Serialized WorkerVersionCapabilities of its poll.
        deployment_options: Serialized WorkerDeploymentOptions of its poll.
    """

    identity: str
    last_access_ms: int
    rate_per_second: float = DEFAULT_RATE_PER_SECOND
    worker_version_capabilities: bytes = b""
    deployment_options: bytes = b""


class PollerHistory:
    """Recent pollers per queue partition.

    Args:
        ttl_ms: How long an entry lives after its last poll.
    """

    def __init__(self, ttl_ms: int = POLLER_HISTORY_TTL_MS) -> None:
        self._ttl_ms = ttl_ms
        self._pollers: dict[QueueKey, dict[str, PollerRecord]] = {}

    def record(self, keys: Iterable[QueueKey], poller: PollerRecord) -> None:
        """Notes a poll on every partition it waits on; an empty identity is not recorded."""
        if not poller.identity:
            return
        for key in keys:
            self._pollers.setdefault(key, {})[poller.identity] = poller

    def pollers(self, key: QueueKey, now_ms: int) -> list[PollerRecord]:
        """The partition's pollers seen within the TTL, most recent first."""
        self.prune(now_ms)
        found = self._pollers.get(key, {}).values()
        return sorted(found, key=lambda p: (-p.last_access_ms, p.identity))

    def last_access_ms(self, key: QueueKey) -> int | None:
        """When anyone last polled the partition, None if nobody did (or it was forgotten)."""
        found = self._pollers.get(key)
        if not found:
            return None
        return max(p.last_access_ms for p in found.values())

    def forget(self, key: QueueKey) -> None:
        """Drops every poller of the partition."""
        self._pollers.pop(key, None)

    def prune(self, now_ms: int) -> None:
        """Drops entries older than the TTL."""
        oldest = now_ms - self._ttl_ms
        for key in list(self._pollers):
            kept = {i: p for i, p in self._pollers[key].items() if p.last_access_ms > oldest}
            if kept:
                self._pollers[key] = kept
            else:
                del self._pollers[key]
