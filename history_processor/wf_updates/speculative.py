"""Speculative workflow tasks: the task that ships an update to an idle workflow.

Temporal schedules it without writing WorkflowTaskScheduled (and starts it without
WorkflowTaskStarted). If the worker only rejects the update, the task is dropped and leaves
no trace in history; if it accepts or does anything else, the task's scheduled and started
events are written before its WorkflowTaskCompleted. Strom models it as a transient task of
attempt 1 (attempts > 1 are the only other transient tasks): the same state updates, the
same transient events in the poll response, the same late writing on completion.
"""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import RespondWorkflowTaskCompletedRequest

from history_processor import updates as upd
from history_processor.builder import DecisionBuilder
from history_processor.outbox import workflow_task_record
from history_processor.state import ExecutionState, TaskQueueKind, WorkflowTaskInfo
from history_processor.wf_updates.protocol import is_rejection_only
from history_processor.workflow_tasks import current_task_queue, schedule_workflow_task


def is_speculative(task: WorkflowTaskInfo | None) -> bool:
    """Whether a workflow task is speculative (transient at its first attempt)."""
    return task is not None and task.transient and task.attempt == 1


def schedule(b: DecisionBuilder, emit_task: bool = True) -> None:
    """Schedules a workflow task to deliver updates: speculative unless events wait.

    Does nothing when a task is pending or the run is closed.
    """
    state = b.run
    if state.workflow_task is not None or not state.is_running:
        return
    if state.has_buffered_events or state.workflow_task_attempt > 1:
        schedule_workflow_task(b, emit_task)
        return
    queue = current_task_queue(state)
    kind = TaskQueueKind.STICKY if state.sticky_task_queue else TaskQueueKind.NORMAL
    b.add_update(
        upd.WorkflowTaskScheduled(
            scheduled_event_id=b.next_event_id,
            attempt=1,
            task_queue=queue.name,
            task_queue_kind=kind.value,
            scheduled_time_ms=b.now_ms,
            start_to_close_timeout_ms=state.workflow_task_timeout_ms,
        )
    )
    if emit_task:
        b.add_task(workflow_task_record(b.run))


def may_drop(state: ExecutionState, req: RespondWorkflowTaskCompletedRequest) -> bool:
    """Whether the completion of the run's started task drops it without a trace.

    Temporal's rule: a speculative task whose worker only rejected updates, with no new
    events waiting and no new task asked for, leaves history as it was.
    """
    return (
        is_speculative(state.workflow_task)
        and not state.has_buffered_events
        and not req.force_create_new_workflow_task
        and is_rejection_only(req)
    )


def drop(b: DecisionBuilder) -> None:
    """Drops the run's speculative task (its attempt stays 1)."""
    task = b.run.workflow_task
    assert task is not None
    b.add_update(upd.WorkflowTaskFailed(scheduled_event_id=task.scheduled_event_id, next_attempt=1))
