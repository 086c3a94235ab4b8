"""Where things live: a workflow's history shard, a task's task-queue partition and topic partition.

One stable 64-bit hash for all of it (the first 8 bytes of SHA-256, big-endian; never Python's
`hash()`, which is salted per process). Temporal splits a normal task queue into partitions
(``/_sys/<name>/<n>``); how many is a cluster setting (`Topology.tq_partitions`) that history
(which places tasks) and matching and the frontend (which poll them) read from the cluster.
Sticky queues have one partition.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
from collections.abc import Iterator
from typing import Final

DEFAULT_TQ_PARTITIONS: Final = 4
"""Partitions of a normal task queue in a new cluster (Temporal's default)."""

WORKFLOW: Final = "workflow"
ACTIVITY: Final = "activity"
NORMAL: Final = "normal"
STICKY: Final = "sticky"

_SYS_PREFIX = "/_sys/"


# Cached: one SHA-256 costs microseconds, and every command of a workflow, every task of a
# task queue, hashes the same few strings again.
@functools.lru_cache(maxsize=1 << 16)
def hash64(text: str) -> int:
    """The stable 64-bit hash of a string (same on every process and Python version)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def shard_for(namespace: str, workflow_id: str, shard_count: int) -> int:
    """Returns the history shard (= inbox/events partition) that owns a workflow.

    Args:
        namespace: Namespace name.
        workflow_id: Workflow id.
        shard_count: Number of shards, fixed at cluster creation; must be positive.

    Returns:
        hash64(f"{namespace}\\x00{workflow_id}") modulo `shard_count`.
    """
    if shard_count <= 0:
        raise ValueError(f"shard_count must be positive, got {shard_count}")
    return hash64(f"{namespace}\x00{workflow_id}") % shard_count


def shard_key(namespace: str, workflow_id: str) -> bytes:
    """The Kafka record key of an inbox command for a workflow."""
    return f"{namespace}/{workflow_id}".encode()


def tq_partition_for(workflow_id: str, n_tq_partitions: int = DEFAULT_TQ_PARTITIONS) -> int:
    """Returns the partition (0-based) of a normal task queue that gets a workflow's tasks."""
    if n_tq_partitions <= 0:
        raise ValueError(f"n_tq_partitions must be positive, got {n_tq_partitions}")
    return hash64(workflow_id) % n_tq_partitions


def topic_partition_for(
    namespace: str, task_queue: str, task_kind: str, tq_partition: int, n_partitions: int
) -> int:
    """Returns the tasks-topic partition of one task-queue partition.

    Args:
        namespace: Namespace name.
        task_queue: Task-queue name (a sticky queue's own name for sticky tasks).
        task_kind: ``"workflow"`` or ``"activity"``.
        tq_partition: Task-queue partition index.
        n_partitions: Partition count of the tasks topic.
    """
    if n_partitions <= 0:
        raise ValueError(f"n_partitions must be positive, got {n_partitions}")
    key = f"{namespace}\x00{task_queue}\x00{task_kind}\x00{tq_partition}"
    return hash64(key) % n_partitions


def parse_partitioned_name(name: str) -> tuple[str, int | None]:
    """Splits Temporal's partition name ``/_sys/<base>/<n>`` into ``(base, n)``.

    Returns:
        ``(name, None)`` for a plain queue name.
    """
    if not name.startswith(_SYS_PREFIX):
        return name, None
    base, sep, index = name[len(_SYS_PREFIX) :].rpartition("/")
    if not sep or not base or not index.isdigit():
        return name, None
    return base, int(index)


class PollPartitionPicker:
    """Round-robin choice of the task-queue partition whose owner receives the next poll.

    Args:
        n_tq_partitions: Partitions of a normal queue.
    """

    def __init__(self, n_tq_partitions: int = DEFAULT_TQ_PARTITIONS) -> None:
        self._n = n_tq_partitions
        self._counters: dict[tuple[str, str, str], Iterator[int]] = {}

    def pick(self, namespace: str, task_queue: str, task_kind: str, sticky: bool) -> int:
        """Returns the tq partition for the next poll of a queue (always 0 for sticky queues)."""
        if sticky:
            return 0
        base, index = parse_partitioned_name(task_queue)
        if index is not None:
            return index
        counter = self._counters.setdefault(
            (namespace, base, task_kind), itertools.cycle(range(self._n))
        )
        return next(counter)
