"""The workflow task state machine: schedule, start, fail, and the poll response a worker gets.

Mirrors Temporal's service/history/workflow/workflow_task_state_machine.go: attempts > 1 are
transient (no scheduled/started events until the task completes), a failure on a sticky
queue falls back to the normal queue without counting an attempt, and buffered events reset
the attempt to 1.
"""

from __future__ import annotations

from temporalio.api.common.v1 import WorkerVersionStamp, WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import EventType, SuggestContinueAsNewReason, WorkflowTaskFailedCause
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import (
    History,
    HistoryEvent,
    WorkflowTaskFailedEventAttributes,
    WorkflowTaskScheduledEventAttributes,
    WorkflowTaskStartedEventAttributes,
)
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import PollWorkflowTaskQueueResponse

from history_processor import events as ev
from history_processor import settings
from history_processor import updates as upd
from history_processor.builder import DecisionBuilder
from history_processor.outbox import workflow_task_record, workflow_task_token
from history_processor.state import ExecutionState, TaskQueueKind, WorkflowTaskInfo

# Temporal: attempts above this get a longer start-to-close timeout, which paces retries of a
# task that keeps failing (SDKs let repeated failures time out instead of reporting them).
RETRY_BACKOFF_MIN_ATTEMPTS = 3
RETRY_INITIAL_INTERVAL_MS = 5_000
RETRY_MAX_INTERVAL_MS = 600_000


def suggest_reasons(
    started_event_count: int, history_size_bytes: int
) -> list[SuggestContinueAsNewReason.ValueType]:
    """Why a started workflow task suggests continue-as-new (Temporal's getHistorySizeInfo):
    the history's size, then its event count (the started event's id), past the thresholds
    (`settings`: limit.historySize/historyCount.suggestContinueAsNew)."""
    thresholds = settings.current()
    reasons: list[SuggestContinueAsNewReason.ValueType] = []
    if history_size_bytes >= thresholds.suggest_continue_as_new_size:
        reasons.append(
            SuggestContinueAsNewReason.SUGGEST_CONTINUE_AS_NEW_REASON_HISTORY_SIZE_TOO_LARGE
        )
    if started_event_count >= thresholds.suggest_continue_as_new_count:
        reasons.append(
            SuggestContinueAsNewReason.SUGGEST_CONTINUE_AS_NEW_REASON_TOO_MANY_HISTORY_EVENTS
        )
    return reasons


def task_suggest_reasons(task: WorkflowTaskInfo) -> list[SuggestContinueAsNewReason.ValueType]:
    """`suggest_reasons` of a started task (a transient one started before its id was used)."""
    count = task.scheduled_event_id if task.transient else task.started_event_id
    return suggest_reasons(count, task.history_size_bytes)


# Temporal's default history page size (frontend/matching historyMaxPageSize).
HISTORY_PAGE_SIZE = 256


def start_to_close_timeout_ms(default_ms: int, attempt: int) -> int:
    """Start-to-close timeout of a workflow task attempt (Temporal's getStartToCloseTimeout).

    Temporal adds jitter to the backoff part; the decider must be deterministic, so Strom
    does not.
    """
    if attempt <= RETRY_BACKOFF_MIN_ATTEMPTS:
        return default_ms
    backoff = RETRY_INITIAL_INTERVAL_MS * 2 ** (attempt - RETRY_BACKOFF_MIN_ATTEMPTS - 1)
    return default_ms + min(backoff, RETRY_MAX_INTERVAL_MS)


def current_task_queue(state: ExecutionState) -> TaskQueue:
    """The queue a new workflow task goes to: sticky if set (CurrentTaskQueue)."""
    if state.sticky_task_queue:
        return ev.task_queue(state.sticky_task_queue, sticky=True, normal_name=state.task_queue)
    return ev.task_queue(state.task_queue)


def schedule_workflow_task(b: DecisionBuilder, emit_task: bool = True) -> None:
    """Schedules a workflow task unless one is pending (AddWorkflowTaskScheduledEvent).

    Buffered events are flushed first and make the task a normal attempt-1 task.
    """
    state = b.run
    if state.workflow_task is not None or not state.is_running:
        return
    attempt = state.workflow_task_attempt
    if state.has_buffered_events:
        attempt = 1
        b.flush_buffer()
    queue = current_task_queue(state)
    timeout = start_to_close_timeout_ms(state.workflow_task_timeout_ms, attempt)
    if attempt <= 1:
        b.add_event(
            EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
            WorkflowTaskScheduledEventAttributes(
                task_queue=queue, start_to_close_timeout=ev.duration(timeout), attempt=attempt
            ),
        )
    else:
        kind = TaskQueueKind.STICKY if state.sticky_task_queue else TaskQueueKind.NORMAL
        b.add_update(
            upd.WorkflowTaskScheduled(
                scheduled_event_id=b.next_event_id,
                attempt=attempt,
                task_queue=queue.name,
                task_queue_kind=kind.value,
                scheduled_time_ms=b.now_ms,
                start_to_close_timeout_ms=timeout,
            )
        )
    if emit_task:
        # `optimistic.prepare` may fill the record's payload once the decision is complete.
        b.add_task(workflow_task_record(b.run))


def start_workflow_task(
    b: DecisionBuilder,
    request_id: str,
    identity: str,
    stamp: WorkerVersionStamp | None,
    history_size_bytes: int | None = None,
) -> WorkflowTaskInfo:
    """Marks the pending workflow task started (AddWorkflowTaskStartedEvent); returns it.

    `history_size_bytes` overrides the run's current size: Temporal reports the size of the
    history committed before the transaction that starts the task.
    """
    state = b.run
    task = state.workflow_task
    assert task is not None and not task.is_started
    history_size = state.history_size_bytes if history_size_bytes is None else history_size_bytes
    suggest = bool(suggest_reasons(state.next_event_id, history_size))
    if task.transient and task.scheduled_event_id != state.next_event_id:
        # Events arrived since the transient task was scheduled: it becomes a normal task.
        b.add_event(
            EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
            WorkflowTaskScheduledEventAttributes(
                task_queue=ev.task_queue(task.task_queue)
                if task.task_queue_kind is TaskQueueKind.NORMAL
                else current_task_queue(state),
                start_to_close_timeout=ev.duration(task.start_to_close_timeout_ms),
                attempt=1,
            ),
        )
        task = b.run.workflow_task
        assert task is not None
    if not task.transient:
        b.add_event(
            EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
            WorkflowTaskStartedEventAttributes(
                scheduled_event_id=task.scheduled_event_id,
                identity=identity,
                request_id=request_id,
                suggest_continue_as_new=suggest,
                suggest_continue_as_new_reasons=suggest_reasons(state.next_event_id, history_size),
                history_size_bytes=history_size,
                worker_version=stamp,
            ),
        )
    else:
        b.add_update(
            upd.WorkflowTaskStarted(
                scheduled_event_id=task.scheduled_event_id,
                started_event_id=task.scheduled_event_id + 1,
                started_time_ms=b.now_ms,
                request_id=request_id,
                identity=identity,
                build_id=stamp.build_id if stamp is not None and stamp.use_versioning else "",
                history_size_bytes=history_size,
                suggest_continue_as_new=suggest,
            )
        )
    started = b.run.workflow_task
    assert started is not None
    return started


def fail_workflow_task(
    b: DecisionBuilder,
    cause: WorkflowTaskFailedCause.ValueType,
    failure: Failure | None,
    identity: str,
    binary_checksum: str = "",
) -> None:
    """Fails the pending workflow task (AddWorkflowTaskFailedEvent).

    A transient task fails without an event; its next attempt is counted by an update.
    """
    task = b.run.workflow_task
    assert task is not None
    if task.transient and task.attempt == 1:
        # A speculative task (it shipped a workflow update) is written before it fails, as
        # Temporal does: the failure must be in history.
        _write_speculative_events(b, task, identity)
        task = b.run.workflow_task
        assert task is not None
    if not task.transient:
        b.add_event(
            EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
            WorkflowTaskFailedEventAttributes(
                scheduled_event_id=task.scheduled_event_id,
                started_event_id=task.started_event_id,
                cause=cause,
                failure=failure,
                identity=identity,
                binary_checksum=binary_checksum,
            ),
        )
    else:
        b.add_update(
            upd.WorkflowTaskFailed(
                scheduled_event_id=task.scheduled_event_id, next_attempt=task.attempt + 1
            )
        )


def _write_speculative_events(b: DecisionBuilder, task: WorkflowTaskInfo, identity: str) -> None:
    b.add_event(
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        WorkflowTaskScheduledEventAttributes(
            task_queue=current_task_queue(b.run),
            start_to_close_timeout=ev.duration(task.start_to_close_timeout_ms),
            attempt=task.attempt,
        ),
        time_ms=task.scheduled_time_ms,
    )
    b.add_event(
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        WorkflowTaskStartedEventAttributes(
            scheduled_event_id=task.scheduled_event_id,
            identity=identity,
            request_id=task.request_id,
            suggest_continue_as_new=task.suggest_continue_as_new,
            history_size_bytes=task.history_size_bytes,
        ),
        time_ms=task.started_time_ms,
    )


def transient_events(state: ExecutionState, identity: str) -> list[HistoryEvent]:
    """The not-yet-written events of a transient task, shown to its worker (history suffix)."""
    task = state.workflow_task
    if task is None or not task.transient or task.scheduled_event_id != state.next_event_id:
        return []
    scheduled = ev.new_event(
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        task.scheduled_time_ms,
        WorkflowTaskScheduledEventAttributes(
            task_queue=current_task_queue(state),
            start_to_close_timeout=ev.duration(task.start_to_close_timeout_ms),
            attempt=task.attempt,
        ),
    )
    scheduled.event_id = task.scheduled_event_id
    if not task.is_started:
        return [scheduled]
    started = ev.new_event(
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        task.started_time_ms,
        WorkflowTaskStartedEventAttributes(
            scheduled_event_id=task.scheduled_event_id,
            identity=identity,
            request_id=task.request_id,
            suggest_continue_as_new=task.suggest_continue_as_new,
            suggest_continue_as_new_reasons=task_suggest_reasons(task),
            history_size_bytes=task.history_size_bytes,
            worker_version=(
                WorkerVersionStamp(use_versioning=True, build_id=task.build_id)
                if task.build_id
                else None
            ),
        ),
    )
    started.event_id = task.started_event_id
    return [scheduled, started]


def poll_response(
    state: ExecutionState, history: list[HistoryEvent], next_page_token: bytes
) -> PollWorkflowTaskQueueResponse:
    """The PollWorkflowTaskQueueResponse of the run's started workflow task."""
    task = state.workflow_task
    assert task is not None and task.is_started
    response = PollWorkflowTaskQueueResponse(
        task_token=workflow_task_token(state, started_event_id=task.started_event_id),
        workflow_execution=WorkflowExecution(workflow_id=state.workflow_id, run_id=state.run_id),
        workflow_type=WorkflowType(name=state.workflow_type),
        previous_started_event_id=state.last_completed_wft_started_event_id,
        started_event_id=task.started_event_id,
        attempt=task.attempt,
        history=History(events=history),
        next_page_token=next_page_token,
        workflow_execution_task_queue=ev.task_queue(state.task_queue),
    )
    response.scheduled_time.FromMilliseconds(task.scheduled_time_ms)
    response.started_time.FromMilliseconds(task.started_time_ms)
    return response
