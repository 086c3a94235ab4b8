"""Where task-queue partitions live: tasks-topic partitions, tq partitions of a workflow, poll keys.

Temporal splits a normal task queue into 4 partitions (``/_sys/<name>/<n>``); a poll lands on a
random partition and, when that one has nothing, the partition forwards the poll to the root
partition so a task on any partition can reach it. Strom's simpler equivalent: a poll waits on
*all* partitions of its queue that live in the matching process it reached and takes the first
task of any of them (the oldest, by schedule time). With one matching process every poll sees
every partition; with several, the frontend spreads polls over the owners of the partitions
(``PollPartitionPicker``) so every owner keeps receiving polls. Sticky queues have one partition.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator

from matching_processor.queues import QueueKey

DEFAULT_TQ_PARTITIONS = 4
"""Partitions of a normal task queue, as in Temporal's default."""

WORKFLOW = "workflow"
ACTIVITY = "activity"
NORMAL = "normal"
STICKY = "sticky"

_SYS_PREFIX = "/_sys/"


def _hash64(text: str) -> int:
    # A stable hash: the same on every process and Python version, unlike hash().
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


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
    return _hash64(key) % n_partitions


def tq_partition_for(workflow_id: str, n_tq_partitions: int = DEFAULT_TQ_PARTITIONS) -> int:
    """Returns the task-queue partition the tasks of one workflow go to (normal queues only)."""
    if n_tq_partitions <= 0:
        raise ValueError(f"n_tq_partitions must be positive, got {n_tq_partitions}")
    return _hash64(workflow_id) % n_tq_partitions


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


def poll_keys(
    namespace: str,
    task_queue: str,
    task_kind: str,
    sticky: bool,
    n_tq_partitions: int = DEFAULT_TQ_PARTITIONS,
) -> tuple[QueueKey, ...]:
    """Returns the queue partitions one poll waits on (see the module docstring).

    Args:
        namespace: Namespace name.
        task_queue: The name in the poll request; a ``/_sys/<base>/<n>`` name polls only that one.
        task_kind: ``"workflow"`` or ``"activity"``.
        sticky: Whether the poll is on a sticky queue (one partition).
        n_tq_partitions: Partitions of a normal queue.
    """
    if sticky:
        return (QueueKey(namespace, task_queue, task_kind, 0),)
    base, index = parse_partitioned_name(task_queue)
    if index is not None:
        return (QueueKey(namespace, base, task_kind, index),)
    return tuple(QueueKey(namespace, base, task_kind, p) for p in range(n_tq_partitions))


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
