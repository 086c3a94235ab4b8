"""Folding of the operator's activity updates: pause, unpause, reset, new options, reschedule."""

from __future__ import annotations

from history_processor import updates as upd
from history_processor.state import ActivityInfo, ActivityPause, ExecutionState, RetryPolicy


def clear_started(info: ActivityInfo) -> None:
    """Temporal's ClearActivityStartedState: the attempt no longer runs on a worker."""
    info.started_event_id = info.started_time_ms = 0
    info.request_id = ""


def _clear_heartbeat(info: ActivityInfo) -> None:
    info.heartbeat_details = b""
    info.last_heartbeat_time_ms = 0


def paused(state: ExecutionState, data: upd.ActivityPaused) -> None:
    """PauseActivity."""
    info = state.activities.get(data.scheduled_event_id)
    if info is not None:
        info.pause = ActivityPause(
            time_ms=data.time_ms,
            identity=data.identity,
            reason=data.reason,
            request_id=data.request_id,
        )


def unpaused(state: ExecutionState, data: upd.ActivityUnpaused) -> None:
    """UnpauseActivity (and ResetActivity's unpause)."""
    info = state.activities.get(data.scheduled_event_id)
    if info is None:
        return
    info.pause = None
    if data.reset_attempts:
        info.attempt = 1
    if data.reset_heartbeat:
        _clear_heartbeat(info)


def reset(state: ExecutionState, data: upd.ActivityReset) -> None:
    """ResetActivity: back to attempt 1; a running attempt learns it from its heartbeats."""
    info = state.activities.get(data.scheduled_event_id)
    if info is None:
        return
    info.attempt = 1
    info.activity_reset = True
    if data.reset_heartbeats:
        info.reset_heartbeats = True


def options_updated(state: ExecutionState, data: upd.ActivityOptionsUpdated) -> None:
    """UpdateActivityOptions: the options later attempts (and timers) use."""
    info = state.activities.get(data.scheduled_event_id)
    if info is None:
        return
    info.task_queue = data.task_queue
    info.schedule_to_close_timeout_ms = data.schedule_to_close_timeout_ms
    info.schedule_to_start_timeout_ms = data.schedule_to_start_timeout_ms
    info.start_to_close_timeout_ms = data.start_to_close_timeout_ms
    info.heartbeat_timeout_ms = data.heartbeat_timeout_ms
    info.retry_policy = RetryPolicy(
        initial_interval_ms=data.initial_interval_ms,
        backoff_coefficient=data.backoff_coefficient,
        maximum_interval_ms=data.maximum_interval_ms,
        maximum_attempts=data.maximum_attempts,
        # The options carry no error types: the scheduled ones stay (as in Temporal).
        non_retryable_error_types=info.retry_policy.non_retryable_error_types,
    )
    info.priority = data.priority


def rescheduled(state: ExecutionState, data: upd.ActivityRescheduled) -> None:
    """Temporal's RegenerateActivityRetryTask: UpdateActivityInfoForRetries with the same
    attempt and no failure, then a retry timer (here: `awaiting_retry`)."""
    info = state.activities.get(data.scheduled_event_id)
    if info is None:
        return
    info.scheduled_time_ms = data.scheduled_time_ms
    clear_started(info)
    info.last_worker_identity = info.started_identity
    info.last_failure = b""
    if info.reset_heartbeats:
        _clear_heartbeat(info)
    info.activity_reset = info.reset_heartbeats = False
    info.awaiting_retry = True
    # The attempt keeps its number: only the stamp tells its new task from the old one.
    info.stamp += 1


def retry_paused(state: ExecutionState, data: upd.ActivityRetryPaused) -> None:
    """A paused activity's attempt failed: the next attempt, not dispatched."""
    info = state.activities.get(data.scheduled_event_id)
    if info is None:
        return
    clear_started(info)
    info.last_failure = data.last_failure
    info.attempt += 1
    # Nothing may start it until the unpause reschedules it.
    info.awaiting_retry = True
