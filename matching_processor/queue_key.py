"""The unit matching queues tasks by: one partition of one task queue, and the record it reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

TaskRecord = Mapping[str, Any]
"""A decoded ``schemas.TASK_RECORD`` dict."""


@dataclass(frozen=True, order=True)
class QueueKey:
    """One task-queue partition: the unit that has a backlog and waiting pollers.

    Attributes:
        namespace: Namespace name of the queue.
        task_queue: Task-queue name as the worker gives it (sticky queues have their own names).
        task_kind: ``"workflow"`` or ``"activity"``.
        tq_partition: Partition index of the task queue, 0..3 for normal queues, 0 for sticky ones.
    """

    namespace: str
    task_queue: str
    task_kind: str
    tq_partition: int

    @classmethod
    def of(cls, record: TaskRecord) -> QueueKey:
        """Returns the queue partition a task record belongs to."""
        return cls(
            record["namespace"],
            record["task_queue"],
            record["task_kind"],
            int(record["task_queue_partition"]),
        )
