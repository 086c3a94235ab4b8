"""A failover: the work a run had pending when its namespace became active in this cluster.

While standby, the cluster folded the old active cluster's batches but dispatched nothing and
fired no timer. Taking over (Temporal's failover, seed 3.8.3: workflows continue from the
last replicated state), history dispatches what the run waits on that was never started
here; what was started on the old cluster is left to its durable timers, which this cluster
now fires: a started workflow task times out and is scheduled again, a started activity
times out and is retried (it may run twice, as the seed accepts).
"""

from __future__ import annotations

from history_processor.outbox import activity_task_record, workflow_task_record
from history_processor.state import ExecutionState, TaskQueueKind
from schemas.records import TaskRecord


def pending_tasks(state: ExecutionState) -> list[TaskRecord]:
    """The task records to dispatch again for one run after a failover to this cluster.

    A workflow task on a sticky queue is left to its schedule-to-start timer, which moves
    it to the normal queue: the sticky worker polled the old cluster.
    """
    if not state.is_running:
        return []
    out: list[TaskRecord] = []
    task = state.workflow_task
    if task is not None and not task.is_started and task.task_queue_kind is TaskQueueKind.NORMAL:
        out.append(workflow_task_record(state))
    for info in state.activities.values():
        if not info.is_started and not info.awaiting_retry and not info.paused:
            out.append(activity_task_record(state, info))
    return out
