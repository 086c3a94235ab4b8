"""Stable placement of workflows on history shards and of tasks on task-queue partitions."""

import hashlib

# Normal task queues have this many partitions (Temporal's default); sticky queues have one.
NORMAL_TASK_QUEUE_PARTITIONS = 4


def _hash64(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def shard_for(namespace: str, workflow_id: str, shard_count: int) -> int:
    """Returns the history shard (= inbox/events partition) that owns a workflow.

    Args:
        namespace: Namespace name.
        workflow_id: Workflow id.
        shard_count: Number of shards, fixed at cluster creation; must be positive.

    Returns:
        First 8 bytes of sha256(f"{namespace}\\x00{workflow_id}"), big-endian, modulo
        `shard_count`. Never Python's `hash()`, which is salted per process.
    """
    if shard_count <= 0:
        raise ValueError(f"shard_count must be positive, got {shard_count}")
    return _hash64(f"{namespace}\x00{workflow_id}") % shard_count


def task_queue_partition_for(
    workflow_id: str, partitions: int = NORMAL_TASK_QUEUE_PARTITIONS
) -> int:
    """Returns the partition (0-based) of a normal task queue that gets a workflow's tasks."""
    if partitions <= 0:
        raise ValueError(f"partitions must be positive, got {partitions}")
    return _hash64(workflow_id) % partitions
