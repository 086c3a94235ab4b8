"""Revised workflow tasks: the same task sent again, with a template that shows more events.

History sends a waiting workflow task again when events are written before it starts (a signal
right after the start, an activity finishing while the workers are busy): same run, scheduled
event id and attempt, with a prepared response that shows those events, or with none
(`history_processor.optimistic`). Matching keeps one copy of such a task:

- the copy still waiting in its backlog, or being started through history (a classic start,
  which gives the poller the run's current history anyway), takes the newer record's payload,
  and the newer record is finished at once;
- a copy started through history that history accepted leaves a mark: a revision that comes
  after it is finished at once too (the task is started; it would only reach a worker as a
  stale template);
- a copy handed out optimistically does neither: its template showed less than the revision,
  so history refuses that start, and the revision is the task's next dispatch.

Only copies held in memory count (a spilled copy is read again later and meets the revision
then as two tasks, one of which history refuses, as before).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from matching_processor.queue_items import QueuedTask, TaskState
from matching_processor.queue_key import QueueKey, TaskRecord

TaskIdentity = tuple[QueueKey, str, str, int, int]
"""(queue partition, workflow id, run id, scheduled event id, attempt) of a workflow task."""

#: Marks of tasks started through history that are remembered (oldest forgotten first).
MAX_STARTED_MARKS = 10_000


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
    """The workflow tasks matching holds in memory (waiting or being started), by identity,
    and the marks of those started through history.

    Args:
        max_marks: Marks kept.
    """

    def __init__(self, max_marks: int = MAX_STARTED_MARKS) -> None:
        self._held: dict[TaskIdentity, QueuedTask] = {}
        self._started: OrderedDict[TaskIdentity, int] = OrderedDict()
        self._max_marks = max_marks

    def absorb(self, task: QueuedTask) -> bool:
        """Whether `task` (just read) is a revision that needs no dispatch of its own: its
        payload went into the copy held, or its task was started through history."""
        ident = identity(task.record)
        if ident is None:
            return False
        if ident in self._started:
            return True
        held = self._held.get(ident)
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

    def finished(self, task: QueuedTask, started: bool) -> None:
        """Forgets a task that left matching; `started`: history accepted its classic start."""
        ident = identity(task.record)
        if ident is None:
            return
        if self._held.get(ident) is task:
            del self._held[ident]
        if started and not task.optimistic:
            self._started[ident] = task.kafka_partition
            while len(self._started) > self._max_marks:
                self._started.popitem(last=False)

    def forget_partitions(self, kafka_partitions: Iterable[int]) -> None:
        """Drops what belongs to tasks-topic partitions this process no longer owns."""
        parts = set(kafka_partitions)
        for ident in [i for i, t in self._held.items() if t.kafka_partition in parts]:
            del self._held[ident]
        for ident in [i for i, p in self._started.items() if p in parts]:
            del self._started[ident]

    def __len__(self) -> int:
        return len(self._held)
