"""Folding of state updates (the non-event half of the fold), one small function per kind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from history_processor import fold_activity_ops as activity_ops
from history_processor import updates as upd
from history_processor.exceptions import FoldError
from history_processor.state import (
    STARTED_BUFFERED,
    STARTED_TRANSIENT,
    ExecutionState,
    TaskQueueKind,
    WorkflowTaskInfo,
)

ACTIVITY_CLOSED = (
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
)


def activity_ref(event: HistoryEvent) -> int:
    """Scheduled event id of an activity event."""
    field = event.WhichOneof("attributes")
    return int(getattr(event, str(field)).scheduled_event_id)


def _created(state: ExecutionState, data: upd.ExecutionCreated) -> None:
    state.namespace, state.namespace_id = data.namespace, data.namespace_id
    state.run_id, state.start_request_id = data.run_id, data.request_id


def _sticky(state: ExecutionState, data: upd.Sticky) -> None:
    state.sticky_task_queue = data.task_queue
    state.sticky_schedule_to_start_timeout_ms = data.schedule_to_start_timeout_ms


def _reset_run(state: ExecutionState, data: upd.ResetRun) -> None:
    state.reset_run_id = data.run_id


def _wft_scheduled(state: ExecutionState, data: upd.WorkflowTaskScheduled) -> None:
    state.workflow_task = WorkflowTaskInfo(
        scheduled_event_id=data.scheduled_event_id,
        attempt=data.attempt,
        task_queue=data.task_queue,
        task_queue_kind=TaskQueueKind(data.task_queue_kind),
        scheduled_time_ms=data.scheduled_time_ms,
        start_to_close_timeout_ms=data.start_to_close_timeout_ms,
        transient=True,
    )
    state.workflow_task_attempt = data.attempt
    state.first_workflow_task_scheduled = True


def _wft_started(state: ExecutionState, data: upd.WorkflowTaskStarted) -> None:
    task = state.workflow_task
    if task is None or task.scheduled_event_id != data.scheduled_event_id:
        raise FoldError("transient WorkflowTaskStarted without a scheduled workflow task")
    task.started_event_id = data.started_event_id
    task.started_time_ms = data.started_time_ms
    task.request_id = data.request_id
    task.identity = data.identity
    task.build_id = data.build_id
    task.history_size_bytes = data.history_size_bytes
    task.suggest_continue_as_new = data.suggest_continue_as_new


def _wft_failed(state: ExecutionState, data: upd.WorkflowTaskFailed) -> None:
    state.workflow_task = None
    state.workflow_task_attempt = data.next_attempt


def _activity_started(state: ExecutionState, data: upd.ActivityStarted) -> None:
    info = state.activities.get(data.scheduled_event_id)
    if info is not None and info.attempt == data.attempt:
        info.started_event_id = STARTED_TRANSIENT
        info.started_time_ms = data.started_time_ms
        info.request_id = data.request_id
        info.started_identity = data.identity


def _activity_retry(state: ExecutionState, data: upd.ActivityRetry) -> None:
    info = state.activities.get(data.scheduled_event_id)
    if info is not None:
        info.attempt = data.next_attempt
        info.scheduled_time_ms = data.next_scheduled_time_ms
        info.started_event_id = info.started_time_ms = 0
        info.request_id = ""
        info.last_failure = data.last_failure
        info.last_worker_identity = data.last_worker_identity
        info.awaiting_retry = True
        if data.completed_time_ms:
            info.last_attempt_complete_time_ms = data.completed_time_ms
        if info.reset_heartbeats:
            info.heartbeat_details, info.last_heartbeat_time_ms = b"", 0
        info.activity_reset = info.reset_heartbeats = False


def _activity_dispatched(state: ExecutionState, data: upd.ActivityDispatched) -> None:
    info = state.activities.get(data.scheduled_event_id)
    if info is not None and info.attempt == data.attempt:
        info.awaiting_retry = False


def _activity_heartbeat(state: ExecutionState, data: upd.ActivityHeartbeat) -> None:
    info = state.activities.get(data.scheduled_event_id)
    if info is not None:
        info.heartbeat_details = data.details
        info.last_heartbeat_time_ms = data.time_ms


def _buffer_event(state: ExecutionState, data: upd.BufferEvent) -> None:
    state.buffered_events.append(data.event)
    # Temporal applies a buffered event's effect on mutable state at once; only its id waits.
    event = HistoryEvent.FromString(data.event)
    if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
        info = state.activities.get(activity_ref(event))
        if info is not None:
            info.started_event_id = STARTED_BUFFERED
    elif event.event_type in ACTIVITY_CLOSED:
        state.activities.pop(activity_ref(event), None)
    elif event.event_type == EventType.EVENT_TYPE_TIMER_FIRED:
        state.timers.pop(event.timer_fired_event_attributes.timer_id, None)


def _buffered_timer_fired_removed(
    state: ExecutionState, data: upd.BufferedTimerFiredRemoved
) -> None:
    for index, raw in enumerate(state.buffered_events):
        if buffered_timer_fired(raw) == data.timer_id:
            del state.buffered_events[index]
            return


def buffered_timer_fired(raw: bytes) -> str | None:
    """The timer id of a buffered event if it is a TimerFired, else None."""
    event = HistoryEvent.FromString(raw)
    if event.event_type != EventType.EVENT_TYPE_TIMER_FIRED:
        return None
    return event.timer_fired_event_attributes.timer_id


def _buffer_flushed(state: ExecutionState, data: upd.BufferFlushed) -> None:
    state.buffered_events.clear()


def _wft_heartbeat(state: ExecutionState, data: upd.WorkflowTaskHeartbeat) -> None:
    if state.workflow_task is None:
        raise FoldError("workflow task heartbeat without a pending workflow task")
    state.workflow_task.original_scheduled_time_ms = data.original_scheduled_time_ms


_HANDLERS: dict[type, Callable[[ExecutionState, Any], None]] = {
    upd.ExecutionCreated: _created,
    upd.Sticky: _sticky,
    upd.WorkflowTaskScheduled: _wft_scheduled,
    upd.WorkflowTaskStarted: _wft_started,
    upd.WorkflowTaskFailed: _wft_failed,
    upd.ActivityStarted: _activity_started,
    upd.ActivityRetry: _activity_retry,
    upd.ActivityDispatched: _activity_dispatched,
    upd.ActivityHeartbeat: _activity_heartbeat,
    upd.BufferEvent: _buffer_event,
    upd.BufferedTimerFiredRemoved: _buffered_timer_fired_removed,
    upd.BufferFlushed: _buffer_flushed,
    upd.WorkflowTaskHeartbeat: _wft_heartbeat,
    upd.ActivityPaused: activity_ops.paused,
    upd.ActivityUnpaused: activity_ops.unpaused,
    upd.ActivityReset: activity_ops.reset,
    upd.ActivityOptionsUpdated: activity_ops.options_updated,
    upd.ActivityRescheduled: activity_ops.rescheduled,
    upd.ActivityRetryPaused: activity_ops.retry_paused,
    upd.ResetRun: _reset_run,
}


def apply_payload(state: ExecutionState, data: Any) -> None:
    """Applies a decoded update payload (an `updates` dataclass) to the state."""
    _HANDLERS[type(data)](state, data)
