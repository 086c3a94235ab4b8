"""Replication lag metrics, named as Temporal's (`common/metrics/metric_defs.go`).

- `replication_lag` (source_cluster): seconds from an event's time on the active cluster
  to its batch being committed to this cluster's history inbox (a histogram; Temporal's
  timer of the same name measures the same span for its replication tasks).
- `replication_tasks_lag` (source_cluster, partition): records of the source's events topic
  not yet replicated (a gauge, Temporal's count of replication tasks not yet applied).
- `replication_rerequests` (source_cluster): source partitions read again because history
  refused a batch for a gap (Strom's own).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from streams.metrics import SCHEMA

_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, float("inf"))

REPLICATION_LAG = Histogram(
    "replication_lag",
    "Seconds from an event's time on the source cluster to its replication here.",
    ("source_cluster",),
    buckets=_BUCKETS,
)
REPLICATION_TASKS_LAG = Gauge(
    "replication_tasks_lag",
    "Records of the source cluster's events topic not yet replicated.",
    ("source_cluster", "partition"),
)
REPLICATION_REREQUESTS = Counter(
    "replication_rerequests",
    "Source partitions read again because history lacked batches (a gap).",
    ("source_cluster",),
)
SCHEMA["replication_rerequests"] = ("counter", ("source_cluster",))
SCHEMA["replication_lag"] = ("histogram", ("source_cluster",))
SCHEMA["replication_tasks_lag"] = ("gauge", ("source_cluster", "partition"))


def observe(source: str, seconds: float) -> None:
    """Records the lag of one replicated batch (clock skew cannot make it negative)."""
    REPLICATION_LAG.labels(source).observe(max(0.0, seconds))


def records_behind(source: str, partition: int, count: int) -> None:
    """Sets how far the replicator is behind in one source partition."""
    REPLICATION_TASKS_LAG.labels(source, str(partition)).set(count)


def rerequested(source: str, partitions: int) -> None:
    """Counts source partitions read again for a gap."""
    REPLICATION_REREQUESTS.labels(source).inc(partitions)
