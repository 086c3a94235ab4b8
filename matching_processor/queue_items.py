"""What matching's queues hold: tasks read from Kafka, query tasks, polls, and their life cycles."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from matching_processor.ack_levels import PartitionProgress, PartitionWatermark
from matching_processor.exceptions import InvalidStateError
from matching_processor.queue_key import QueueKey, TaskRecord


class TaskState(enum.Enum):
    """Life cycle of a task inside matching."""

    NEW = "new"
    BACKLOG = "backlog"
    DISPATCHING = "dispatching"
    DONE = "done"
    EXPIRED = "expired"
    REVOKED = "revoked"
    SPILLED = "spilled"
    """Its queue's backlog was full: only its offset is kept, the record is read again later."""


class PollerState(enum.Enum):
    """Life cycle of one poll request inside matching."""

    NEW = "new"
    WAITING = "waiting"
    MATCHED = "matched"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(eq=False)
class QueuedTask:
    """A task record plus where it came from in Kafka.

    Attributes:
        record: The decoded task record.
        kafka_partition: Partition of the tasks topic it was read from.
        offset: Its offset in that partition.
        state: Where it is in its life cycle.
    """

    record: TaskRecord
    kafka_partition: int
    offset: int
    state: TaskState = TaskState.NEW
    seq: int = -1
    watermark: PartitionWatermark | None = field(default=None, repr=False)
    progress: PartitionProgress | None = field(default=None, repr=False)
    fresh: bool = False
    """No earlier owner of its partition can have handed it out (read above the partition's
    end at assignment): only such a task may be started optimistically."""
    optimistic: bool = False
    """It is being (or was) handed out from its template, before history checked it."""

    @property
    def key(self) -> QueueKey:
        """The queue partition of the task."""
        return QueueKey.of(self.record)

    def is_expired(self, now_ms: int) -> bool:
        """Whether its schedule-to-start timeout (0 = none) has passed at ``now_ms``."""
        timeout = int(self.record.get("schedule_to_start_timeout_ms") or 0)
        if timeout <= 0:
            return False
        return now_ms >= int(self.record["schedule_time_ms"]) + timeout

    def _order(self) -> tuple[int, int]:
        # Across the partitions of one queue, older schedule times go first; arrival breaks ties.
        return (int(self.record.get("schedule_time_ms") or 0), self.seq)

    def _move(self, expected: TaskState, new: TaskState) -> None:
        if self.state is not expected:
            raise InvalidStateError(f"task is {self.state.value}, expected {expected.value}")
        self.state = new


@dataclass(eq=False)
class QueryTask:
    """A query waiting for a poller; it exists only in this process's memory.

    Attributes:
        task_id: Id of the query task (goes into its token).
        key: The queue partition it is offered on.
        request: What the poller's response is built from (a `schemas.queries.QueryTaskRequest`).
        waiting: True while it waits in its queue partition for a poller.
    """

    task_id: str
    key: QueueKey
    request: Any
    waiting: bool = False


@dataclass(eq=False)
class Poller:
    """One poll request waiting on one or more queue partitions.

    Attributes:
        keys: The queue partitions it accepts a task from (all 4 of a normal queue, or one).
        deadline_ms: When it gives up, for ``expire_pollers``; None = only by ``cancel``.
        state: Where it is in its life cycle.
        task: The task (or query task) it was matched with, once ``MATCHED``.
    """

    keys: tuple[QueueKey, ...]
    deadline_ms: int | None = None
    state: PollerState = PollerState.NEW
    task: QueuedTask | QueryTask | None = None


@dataclass
class MatchingMetrics:
    """Counters of what matching did, for tests and monitoring."""

    sync_matches: int = 0
    backlog_dispatches: int = 0
    expired: int = 0
    requeued: int = 0
    stale: int = 0
    revoked_tasks: int = 0
    query_matches: int = 0
    finished_before: int = 0
    """Tasks read again that the partition's previous owner had finished: not dispatched."""
    spilled: int = 0
    """Tasks whose record was dropped from memory (their queue's backlog was full)."""
    reloaded: int = 0
    """Spilled tasks read again from Kafka into their backlog."""
    revised: int = 0
    """Workflow task records that only revised a copy held (`matching_processor.revisions`)."""
