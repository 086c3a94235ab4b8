"""StickyWorkerUnavailable (from matching): a workflow task's sticky queue has no worker."""

from __future__ import annotations

from history_processor.builder import DecisionBuilder
from history_processor.handling import Env, reply_only
from history_processor.model import Command, Decision
from history_processor.outbox import workflow_task_record
from history_processor.state import ExecutionState, TaskQueueKind
from schemas.inbox import StickyWorkerUnavailable
from schemas.reply import Reply


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Sends the still-pending task to the run's normal queue (Temporal's transfer task on
    StickyWorkerUnavailable); stale notices change nothing.

    Like Temporal, this writes no event and keeps the stickiness: a worker that starts the
    task from the normal queue clears it (RecordWorkflowTaskStarted), and the sticky
    schedule-to-start timeout still bounds the wait (the record keeps it as its TTL).
    """
    msg: StickyWorkerUnavailable = command.payload
    if state is None or state.run_id != msg.run_id or not state.is_running:
        return reply_only(Reply())
    task = state.workflow_task
    if (
        task is None
        or task.is_started
        or task.scheduled_event_id != msg.scheduled_event_id
        or task.attempt != msg.attempt
        or task.task_queue_kind is not TaskQueueKind.STICKY
        or task.task_queue != msg.task_queue
    ):
        return reply_only(Reply())
    b = DecisionBuilder(state, env.now_ms)
    record = workflow_task_record(state)
    record["task_queue"] = state.task_queue
    record["task_queue_kind"] = TaskQueueKind.NORMAL.value
    b.add_task(record)
    return b.finish(Reply())
