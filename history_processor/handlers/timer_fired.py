"""TimerFired (from the processor's timer index): a durable deadline is due."""

from __future__ import annotations

from collections.abc import Callable

from temporalio.api.enums.v1 import EventType, RetryState, TimeoutType
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import (
    ActivityTaskTimedOutEventAttributes,
    TimerFiredEventAttributes,
    WorkflowTaskTimedOutEventAttributes,
)

from history_processor import events as ev
from history_processor import updates as upd
from history_processor import workflow_retry
from history_processor.activities import close_activity, next_retry, schedule_retry
from history_processor.builder import DecisionBuilder
from history_processor.closing import time_out
from history_processor.deadlines import Deadline, DeadlineKind, deadlines, parse_task_ref
from history_processor.handling import Env, reply_only
from history_processor.model import Command, Decision
from history_processor.outbox import activity_task_record
from history_processor.state import ExecutionState
from history_processor.workflow_tasks import schedule_workflow_task
from schemas.reply import Reply

# Temporal's message when a retry would outlive schedule-to-close (common/util.go).
NOT_ENOUGH_TIME = (
    "Not enough time to schedule next retry before activity ScheduleToClose timeout, "
    "giving up retrying"
)

_ACTIVITY_TIMEOUTS = {
    DeadlineKind.ACTIVITY_SCHEDULE_TO_START: TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START,
    DeadlineKind.ACTIVITY_START_TO_CLOSE: TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE,
    DeadlineKind.ACTIVITY_SCHEDULE_TO_CLOSE: TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE,
    DeadlineKind.ACTIVITY_HEARTBEAT: TimeoutType.TIMEOUT_TYPE_HEARTBEAT,
}


def _workflow_task_timed_out(b: DecisionBuilder, timeout_type: int) -> None:
    """AddWorkflowTaskTimedOutEvent / ScheduleToStartTimeoutEvent, then the next attempt."""
    task = b.run.workflow_task
    assert task is not None
    if task.transient:
        b.add_update(
            upd.WorkflowTaskFailed(
                scheduled_event_id=task.scheduled_event_id, next_attempt=task.attempt + 1
            )
        )
    else:
        b.add_event(
            EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
            WorkflowTaskTimedOutEventAttributes(
                scheduled_event_id=task.scheduled_event_id,
                started_event_id=task.started_event_id,
                timeout_type=timeout_type,  # type: ignore[arg-type]
            ),
        )
    schedule_workflow_task(b)


def _activity_timed_out(b: DecisionBuilder, deadline: Deadline) -> None:
    """processSingleActivityTimeoutTask: retry, or ActivityTaskTimedOut with the last failure."""
    scheduled_event_id, _ = parse_task_ref(deadline.ref)
    info = b.run.activities[scheduled_event_id]
    timeout_type = _ACTIVITY_TIMEOUTS[DeadlineKind(deadline.kind)]
    failure = ev.timeout_failure(ev.activity_timeout_message(timeout_type), timeout_type)
    retry_state, backoff_ms = next_retry(info, failure, b.now_ms)
    if retry_state == RetryState.RETRY_STATE_IN_PROGRESS:
        schedule_retry(b, info, failure, backoff_ms)
        return
    if (
        retry_state == RetryState.RETRY_STATE_TIMEOUT
        and timeout_type != TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START
    ):
        failure = ev.timeout_failure(NOT_ENOUGH_TIME, TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE)
    if info.heartbeat_details:
        failure.timeout_failure_info.last_heartbeat_details.ParseFromString(info.heartbeat_details)
    if info.last_failure:
        failure.cause.CopyFrom(Failure.FromString(info.last_failure))
    attrs = ActivityTaskTimedOutEventAttributes(
        scheduled_event_id=scheduled_event_id,
        failure=failure,
        retry_state=retry_state,  # type: ignore[arg-type]
    )
    close_activity(b, info, EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT, attrs)
    schedule_workflow_task(b)


def _workflow_task_start_to_close(b: DecisionBuilder, deadline: Deadline) -> None:
    _workflow_task_timed_out(b, TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE)


def _workflow_task_schedule_to_start(b: DecisionBuilder, deadline: Deadline) -> None:
    _workflow_task_timed_out(b, TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START)


def _first_workflow_task_backoff(b: DecisionBuilder, deadline: Deadline) -> None:
    schedule_workflow_task(b)


def _activity_retry(b: DecisionBuilder, deadline: Deadline) -> None:
    """The backoff of a failed attempt is over: dispatch the next attempt."""
    scheduled_event_id, attempt = parse_task_ref(deadline.ref)
    b.add_update(upd.ActivityDispatched(scheduled_event_id=scheduled_event_id, attempt=attempt))
    b.add_task(activity_task_record(b.run, b.run.activities[scheduled_event_id]))


def _workflow_run_timeout(b: DecisionBuilder, deadline: Deadline) -> None:
    expiration = b.run.execution_expiration_time_ms
    if expiration and expiration <= b.now_ms:
        time_out(b, RetryState.RETRY_STATE_TIMEOUT)
    else:
        failure = ev.timeout_failure("workflow timeout", TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE)
        workflow_retry.time_out_or_retry(b, failure)


def _user_timer(b: DecisionBuilder, deadline: Deadline) -> None:
    """executeUserTimerTimeoutTask: every due timer of the run fires, then a workflow task.

    Temporal fires them in one transaction ordered by (expiry, started event id), so timers due
    together get their TimerFired events before the WorkflowTaskScheduled; their own deadlines
    are then gone and fire as stale no-ops.
    """
    due_by = max(b.now_ms, deadline.fire_at_ms)
    due = sorted(
        (t for t in b.run.timers.values() if t.expiry_time_ms <= due_by),
        key=lambda t: (t.expiry_time_ms, t.started_event_id),
    )
    for timer in due:
        b.add_or_buffer(
            EventType.EVENT_TYPE_TIMER_FIRED,
            TimerFiredEventAttributes(
                timer_id=timer.timer_id, started_event_id=timer.started_event_id
            ),
        )
    schedule_workflow_task(b)


TimerHandler = Callable[[DecisionBuilder, Deadline], None]

TIMER_HANDLERS: dict[DeadlineKind, TimerHandler] = {
    DeadlineKind.WORKFLOW_TASK_START_TO_CLOSE: _workflow_task_start_to_close,
    DeadlineKind.WORKFLOW_TASK_SCHEDULE_TO_START: _workflow_task_schedule_to_start,
    DeadlineKind.FIRST_WORKFLOW_TASK_BACKOFF: _first_workflow_task_backoff,
    DeadlineKind.ACTIVITY_RETRY: _activity_retry,
    DeadlineKind.WORKFLOW_RUN_TIMEOUT: _workflow_run_timeout,
    DeadlineKind.USER_TIMER: _user_timer,
    **dict.fromkeys(_ACTIVITY_TIMEOUTS, _activity_timed_out),
}
"""What each kind of durable timer does when it fires; a new kind is one function and one row."""


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Fires the deadline if the state still has it; a stale deadline changes nothing."""
    deadline: Deadline = command.payload
    if state is None or state.run_id != deadline.run_id or deadline not in deadlines(state):
        return reply_only(Reply())
    b = DecisionBuilder(state, env.now_ms, env)
    TIMER_HANDLERS[DeadlineKind(deadline.kind)](b, deadline)
    return b.finish(Reply())
