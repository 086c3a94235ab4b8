"""The fold: mutable state as a pure function of committed events and state updates.

Used live (the decider folds what it emits) and on restore (the processor folds the events
topic). `apply_batch` is the one entry point for a committed EventBatch.

Contract:
    - `apply_event` and `apply_update` mutate and return the state they are given (except for
      WorkflowExecutionStarted, which returns a fresh state for the new run). Copy first if the
      old state must survive.
    - Events must arrive with contiguous ids; a gap raises `FoldError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from google.protobuf.message import Message
from temporalio.api.enums.v1 import EventType, TimeoutType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import HistoryEvent

from history_processor import updates as upd
from history_processor import workflow_properties
from history_processor.exceptions import FoldError
from history_processor.fold_relatives import RELATIVE_EVENT_HANDLERS
from history_processor.fold_updates import ACTIVITY_CLOSED, activity_ref, apply_payload
from history_processor.relatives import parent_of
from history_processor.state import (
    ActivityInfo,
    ExecutionState,
    RetryPolicy,
    TaskQueueKind,
    TimerInfo,
    WorkflowStatus,
    WorkflowTaskInfo,
    duration_ms,
)
from history_processor.wf_updates import events as wf_update_events

_CLOSE_STATUS = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: WorkflowStatus.COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: WorkflowStatus.FAILED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: WorkflowStatus.CANCELED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: WorkflowStatus.TERMINATED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: WorkflowStatus.CONTINUED_AS_NEW,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: WorkflowStatus.TIMED_OUT,
}


def _varint_size(value: int) -> int:
    size = 1
    while value >= 0x80:
        value >>= 7
        size += 1
    return size


def event_stored_size(event: HistoryEvent) -> int:
    """Bytes the event adds to a serialized History (Temporal's history size accounting)."""
    size = event.ByteSize()
    return 1 + _varint_size(size) + size


def time_ms(event: HistoryEvent) -> int:
    """Event time in epoch milliseconds."""
    return event.event_time.seconds * 1000 + event.event_time.nanos // 1_000_000


def _started(event: HistoryEvent) -> ExecutionState:
    attrs = event.workflow_execution_started_event_attributes
    start = time_ms(event)
    backoff = duration_ms(attrs.first_workflow_task_backoff)
    expiration = attrs.workflow_execution_expiration_time
    return ExecutionState(
        namespace="",
        namespace_id="",
        workflow_id=attrs.workflow_id,
        run_id=attrs.original_execution_run_id,
        workflow_type=attrs.workflow_type.name,
        task_queue=attrs.task_queue.name,
        start_time_ms=start,
        first_execution_run_id=attrs.first_execution_run_id,
        identity=attrs.identity,
        attempt=attrs.attempt or 1,
        execution_time_ms=start + backoff,
        workflow_execution_timeout_ms=duration_ms(attrs.workflow_execution_timeout),
        workflow_run_timeout_ms=duration_ms(attrs.workflow_run_timeout),
        workflow_task_timeout_ms=duration_ms(attrs.workflow_task_timeout),
        execution_expiration_time_ms=(
            expiration.seconds * 1000 + expiration.nanos // 1_000_000
            if attrs.HasField("workflow_execution_expiration_time")
            else 0
        ),
        first_workflow_task_backoff_ms=backoff,
        retry_policy=(
            RetryPolicy.from_proto(attrs.retry_policy) if attrs.HasField("retry_policy") else None
        ),
        cron_schedule=attrs.cron_schedule,
        input=attrs.input.SerializeToString() if attrs.HasField("input") else b"",
        # Maps serialized in key order: a rebuild from the changelog gives the same bytes.
        header=_det(attrs.header) if attrs.HasField("header") else b"",
        memo=_det(attrs.memo) if attrs.HasField("memo") else b"",
        search_attributes=(
            _det(attrs.search_attributes) if attrs.HasField("search_attributes") else b""
        ),
        parent=parent_of(attrs),
        user_metadata=(
            event.user_metadata.SerializeToString() if event.HasField("user_metadata") else b""
        ),
        root_workflow_id=attrs.root_workflow_execution.workflow_id,
        root_run_id=attrs.root_workflow_execution.run_id,
    )


def _fail_workflow_task(state: ExecutionState, increment: bool) -> None:
    # Temporal: a failure on a sticky queue clears stickiness and retries at the same attempt
    # (on the normal queue) before it starts counting attempts (transient tasks).
    if state.sticky_task_queue:
        increment = False
        state.sticky_task_queue = ""
        state.sticky_schedule_to_start_timeout_ms = 0
    state.workflow_task = None
    state.workflow_task_attempt = state.workflow_task_attempt + 1 if increment else 1


def _wft_scheduled(state: ExecutionState, event: HistoryEvent) -> None:
    attrs = event.workflow_task_scheduled_event_attributes
    sticky = attrs.task_queue.kind == 2  # TASK_QUEUE_KIND_STICKY
    state.workflow_task = WorkflowTaskInfo(
        scheduled_event_id=event.event_id,
        attempt=attrs.attempt or 1,
        task_queue=attrs.task_queue.name,
        task_queue_kind=TaskQueueKind.STICKY if sticky else TaskQueueKind.NORMAL,
        scheduled_time_ms=time_ms(event),
        start_to_close_timeout_ms=duration_ms(attrs.start_to_close_timeout),
        schedule_to_start_timeout_ms=state.sticky_schedule_to_start_timeout_ms if sticky else 0,
    )
    state.workflow_task_attempt = attrs.attempt or 1
    state.first_workflow_task_scheduled = True


def _wft_started(state: ExecutionState, event: HistoryEvent) -> None:
    attrs = event.workflow_task_started_event_attributes
    task = state.workflow_task
    if task is None or task.scheduled_event_id != attrs.scheduled_event_id:
        raise FoldError(f"WorkflowTaskStarted {event.event_id} has no scheduled workflow task")
    task.started_event_id = event.event_id
    task.started_time_ms = time_ms(event)
    task.request_id = attrs.request_id
    task.identity = attrs.identity
    task.build_id = attrs.worker_version.build_id
    task.history_size_bytes = attrs.history_size_bytes
    task.suggest_continue_as_new = attrs.suggest_continue_as_new


def _wft_completed(state: ExecutionState, event: HistoryEvent) -> None:
    state.workflow_task = None
    state.workflow_task_attempt = 1
    started = event.workflow_task_completed_event_attributes.started_event_id
    state.last_completed_wft_started_event_id = started
    state.close_attempted = False
    workflow_properties.track_worker(state, event)


def _wft_failed(state: ExecutionState, event: HistoryEvent) -> None:
    _fail_workflow_task(state, increment=True)
    cause = event.workflow_task_failed_event_attributes.cause
    state.close_attempted = (
        cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND
    )
    if cause in (
        WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW,
        WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_FAILOVER_CLOSE_COMMAND,
    ):
        state.workflow_task_attempt = 1


def _wft_timed_out(state: ExecutionState, event: HistoryEvent) -> None:
    timeout = event.workflow_task_timed_out_event_attributes.timeout_type
    _fail_workflow_task(state, increment=timeout != TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START)
    state.close_attempted = False


def _timer_started(state: ExecutionState, event: HistoryEvent) -> None:
    attrs = event.timer_started_event_attributes
    state.timers[attrs.timer_id] = TimerInfo(
        timer_id=attrs.timer_id,
        started_event_id=event.event_id,
        expiry_time_ms=time_ms(event) + duration_ms(attrs.start_to_fire_timeout),
    )


def _timer_fired(state: ExecutionState, event: HistoryEvent) -> None:
    # A fired timer whose event was buffered is gone already (fold_updates._buffer_event).
    state.timers.pop(event.timer_fired_event_attributes.timer_id, None)


def _timer_canceled(state: ExecutionState, event: HistoryEvent) -> None:
    # A timer canceled after it fired has no TimerInfo left (its buffered fire was dropped).
    state.timers.pop(event.timer_canceled_event_attributes.timer_id, None)


def _activity_scheduled(state: ExecutionState, event: HistoryEvent) -> None:
    attrs = event.activity_task_scheduled_event_attributes
    scheduled = time_ms(event)
    state.activities[event.event_id] = ActivityInfo(
        scheduled_event_id=event.event_id,
        activity_id=attrs.activity_id,
        activity_type=attrs.activity_type.name,
        task_queue=attrs.task_queue.name,
        scheduled_time_ms=scheduled,
        first_scheduled_time_ms=scheduled,
        schedule_to_close_timeout_ms=duration_ms(attrs.schedule_to_close_timeout),
        schedule_to_start_timeout_ms=duration_ms(attrs.schedule_to_start_timeout),
        start_to_close_timeout_ms=duration_ms(attrs.start_to_close_timeout),
        heartbeat_timeout_ms=duration_ms(attrs.heartbeat_timeout),
        retry_policy=RetryPolicy.from_proto(
            attrs.retry_policy if attrs.HasField("retry_policy") else None
        ),
        scheduled_attributes=attrs.SerializeToString(),
    )


def _activity_started(state: ExecutionState, event: HistoryEvent) -> None:
    attrs = event.activity_task_started_event_attributes
    info = state.activities.get(attrs.scheduled_event_id)
    # A flushed started event refers to an activity whose buffered close already removed it.
    if info is not None:
        info.started_event_id = event.event_id
        info.started_time_ms = time_ms(event)
        info.request_id = attrs.request_id
        info.started_identity = attrs.identity


def _activity_cancel_requested(state: ExecutionState, event: HistoryEvent) -> None:
    attrs = event.activity_task_cancel_requested_event_attributes
    info = state.activities.get(attrs.scheduled_event_id)
    # The activity is gone when its close event waits in the buffer; the request stays on record.
    if info is not None:
        info.cancel_requested = True
        info.cancel_request_event_id = event.event_id


def _closed(state: ExecutionState, event: HistoryEvent) -> None:
    state.status = _CLOSE_STATUS[event.event_type]
    state.close_time_ms = time_ms(event)
    state.close_event_id = event.event_id
    state.workflow_task = None
    state.activities.clear()
    state.buffered_events.clear()


def _signaled(state: ExecutionState, event: HistoryEvent) -> None:
    # Temporal's SignalCount and signal-requested ids: the limit and the dedup of retries.
    state.signal_count += 1
    request_id = event.workflow_execution_signaled_event_attributes.request_id
    if request_id and request_id not in state.signal_request_ids:
        state.signal_request_ids.append(request_id)


def _cancel_requested(state: ExecutionState, event: HistoryEvent) -> None:
    state.cancel_requested = True


_EVENT_HANDLERS: dict[Any, Any] = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED: _wft_scheduled,
    EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED: _wft_started,
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: _wft_completed,
    EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED: _wft_failed,
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT: _wft_timed_out,
    EventType.EVENT_TYPE_TIMER_STARTED: _timer_started,
    EventType.EVENT_TYPE_TIMER_FIRED: _timer_fired,
    EventType.EVENT_TYPE_TIMER_CANCELED: _timer_canceled,
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: _activity_scheduled,
    EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED: _activity_started,
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED: _activity_cancel_requested,
    **{t: (lambda s, e: s.activities.pop(activity_ref(e), None)) for t in ACTIVITY_CLOSED},
    **dict.fromkeys(_CLOSE_STATUS, _closed),
    EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: workflow_properties.apply_upsert,
    EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED: (
        workflow_properties.apply_properties_modified
    ),
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: _signaled,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED: _cancel_requested,
    **RELATIVE_EVENT_HANDLERS,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: wf_update_events.accepted,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED: wf_update_events.completed,
}


def apply_event(state: ExecutionState | None, event: HistoryEvent) -> ExecutionState:
    """Folds one committed history event into the state.

    Args:
        state: State before the event; None before the run's first event. Mutated.
        event: The event, with its final id.

    Returns:
        The new state (a fresh object for WorkflowExecutionStarted).

    Raises:
        FoldError: the event id is not the state's next event id, or the event does not fit.
    """
    if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        if event.event_id != 1:
            raise FoldError(f"WorkflowExecutionStarted must be event 1, got {event.event_id}")
        state = _started(event)
    elif state is None:
        raise FoldError(f"event {event.event_id} has no run to apply to")
    elif event.event_id != state.next_event_id:
        raise FoldError(f"event id {event.event_id} != next event id {state.next_event_id}")
    else:
        handler = _EVENT_HANDLERS.get(event.event_type)
        if handler is not None:
            handler(state, event)
    state.next_event_id = event.event_id + 1
    state.history_size_bytes += event_stored_size(event)
    return state


def apply_update(state: ExecutionState | None, kind: str, payload: bytes) -> ExecutionState:
    """Folds one state update into the state (mutated and returned).

    Raises:
        PayloadDecodeError: malformed update.
        FoldError: no state to apply to.
    """
    if state is None:
        raise FoldError(f"state update {kind!r} has no run to apply to")
    _, data = upd.decode_update(kind, payload)
    apply_payload(state, data)
    return state


def apply_batch(
    state: ExecutionState | None,
    events: Sequence[HistoryEvent],
    updates: Iterable[tuple[str, bytes]],
) -> ExecutionState | None:
    """Folds one committed batch (an EventBatch, or a Decision's events and updates).

    Updates are interleaved with events by their `at` position, reproducing the order in
    which the decider emitted them.

    Returns:
        The new state; None only for an empty batch applied to no state.
    """
    pending = [(upd.decode_update(kind, payload), kind, payload) for kind, payload in updates]
    index = 0
    for event in events:
        while index < len(pending) and pending[index][0][0] <= event.event_id:
            state = apply_update(state, pending[index][1], pending[index][2])
            index += 1
        state = apply_event(state, event)
    for _, kind, payload in pending[index:]:
        state = apply_update(state, kind, payload)
    if state is not None and (events or pending):
        state.state_transition_count += 1
    return state


def _det(message: Message) -> bytes:
    """`message` serialized with its map entries in key order."""
    return message.SerializeToString(deterministic=True)
