"""Revised workflow tasks: the same task sent again, with a template that shows more events.

History sends a waiting workflow task again when events are written before it starts (a signal
right after the start, an activity finishing while the workers are busy): same run, scheduled
event id and attempt, with a prepared response that shows those events, or with none
(`history_processor.optimistic`). Matching keeps one copy of such a task:

- the copy still waiting in its backlog, or being started through history (a classic start,
  which gives the poller the run's current history anyway), takes the newer record (its
  payload), and the newer record is finished at once;
- a copy handed out optimistically does not: its template showed less than the revision, so
  history refuses that start, and the revision is the task's next dispatch.

Only copies held in memory count. A copy that left matching leaves no mark: the same identity
comes again for a new task too (a speculative workflow task that shipped a rejected update
leaves no event, and the next one gets the same scheduled event id). So a revision that
arrives after its task's classic start was accepted is dispatched once more; history refuses
that start, as it refuses every second start of a task. Its template shows the same events
as the classic start did, so whichever of the two workers completes first, the history is the
same.
"""

from __future__ import annotations

from collections.abc import Iterable

from matching_processor.queue_items import QueuedTask, TaskState
from matching_processor.queue_key import QueueKey, TaskRecord

TaskIdentity = tuple[QueueKey, str, str, int, int]
"""(queue partition, workflow id, run id, scheduled event id, attempt) of a workflow task."""


def identity(record: TaskRecord) -> TaskIdentity | None:
    """The identity of a workflow task record; None for other tasks."""
    if record["task_kind"] != "workflow":
        return None
    return (
        QueueKey.of(record),
        record["workflow_id"],
        record["run_id"],
        int(record["scheduled_event_id"]),
        int(record["attempt"]),
    )


class TaskCopies:
    """The workflow tasks matching holds in memory (waiting or being started), by identity."""

    def __init__(self) -> None:
        self._held: dict[TaskIdentity, QueuedTask] = {}

    def absorb(self, task: QueuedTask) -> bool:
        """Whether `task` (just read) is a revision whose record went into the copy held, so
        that it needs no dispatch of its own."""
        ident = identity(task.record)
        held = None if ident is None else self._held.get(ident)
        if held is None or held.kafka_partition != task.kafka_partition:
            return False
        if held.state is TaskState.BACKLOG or (
            held.state is TaskState.DISPATCHING and not held.optimistic
        ):
            held.record = task.record
            return True
        return False

    def track(self, task: QueuedTask) -> None:
        """Remembers a workflow task that is now waiting or being started."""
        ident = identity(task.record)
        if ident is not None:
            self._held[ident] = task

    def finished(self, task: QueuedTask) -> None:
        """Forgets a task that left matching (started, stale, expired, spilled or revoked)."""
        ident = identity(task.record)
        if ident is not None and self._held.get(ident) is task:
            del self._held[ident]

    def forget_partitions(self, kafka_partitions: Iterable[int]) -> None:
        """Drops what belongs to tasks-topic partitions this process no longer owns."""
        parts = set(kafka_partitions)
        for ident in [i for i, t in self._held.items() if t.kafka_partition in parts]:
            del self._held[ident]
