"""The queue partitions one poll waits on (placement itself is `schemas.placement`).

Temporal forwards a poll that finds nothing on its partition to the root partition, so a task
on any partition can reach it. Strom's simpler equivalent: a poll waits on *all* partitions of
its queue that live in the matching process it reached and takes the first task of any of them
(the oldest, by schedule time). With one matching process every poll sees every partition; with
several, the frontend spreads polls over the owners of the partitions
(`schemas.placement.PollPartitionPicker`) so every owner keeps receiving polls.
"""

from __future__ import annotations

from matching_processor.queues import QueueKey
from schemas.placement import DEFAULT_TQ_PARTITIONS, parse_partitioned_name


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
