"""Activity retries (Temporal's RetryActivity / nextBackoffInterval) and activity close events."""

from __future__ import annotations

from temporalio.api.common.v1 import WorkerVersionStamp
from temporalio.api.enums.v1 import EventType, RetryState, TimeoutType
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import ActivityTaskStartedEventAttributes

from history_processor import updates as upd
from history_processor.builder import DecisionBuilder
from history_processor.state import STARTED_TRANSIENT, ActivityInfo

# Prefix of timeout "error types" in non_retryable_error_types (common/retrypolicy).
TIMEOUT_FAILURE_TYPE_PREFIX = "TemporalTimeout:"
_TIMEOUT_TYPE_NAMES = {
    TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE: "StartToClose",
    TimeoutType.TIMEOUT_TYPE_HEARTBEAT: "Heartbeat",
}


def is_retryable(failure: Failure, non_retryable_types: list[str]) -> bool:
    """Temporal's IsRetryableFailure."""
    info = failure.WhichOneof("failure_info")
    if info in ("terminated_failure_info", "canceled_failure_info"):
        return False
    if info == "timeout_failure_info":
        timeout = failure.timeout_failure_info.timeout_type
        if timeout in _TIMEOUT_TYPE_NAMES:
            return (
                TIMEOUT_FAILURE_TYPE_PREFIX + _TIMEOUT_TYPE_NAMES[timeout]
                not in non_retryable_types
            )
        return False
    if info == "server_failure_info":
        return not failure.server_failure_info.non_retryable
    if info == "application_failure_info":
        app = failure.application_failure_info
        return not app.non_retryable and app.type not in non_retryable_types
    return True


def next_retry(info: ActivityInfo, failure: Failure, now_ms: int) -> tuple[int, int]:
    """Decides whether an activity attempt that failed is retried.

    Returns:
        (RetryState, backoff in ms); the backoff only matters for RETRY_STATE_IN_PROGRESS.
    """
    if info.cancel_requested:
        # Temporal checks this first: the workflow no longer wants the activity, so even a
        # timeout ends it (RetryActivity returns RETRY_STATE_CANCEL_REQUESTED).
        return RetryState.RETRY_STATE_CANCEL_REQUESTED, 0
    if failure.HasField("timeout_failure_info") and failure.timeout_failure_info.timeout_type in (
        TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START,
        TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE,
    ):
        return RetryState.RETRY_STATE_TIMEOUT, 0
    policy = info.retry_policy
    if not is_retryable(failure, policy.non_retryable_error_types):
        return RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE, 0
    if info.paused:
        # Temporal's RetryActivity: a paused activity always gets a next attempt, which waits
        # for the unpause (no backoff, no maximum-attempts check).
        return RetryState.RETRY_STATE_IN_PROGRESS, 0
    max_interval = policy.maximum_interval_ms
    requested: int | None = None
    app = failure.application_failure_info
    if failure.HasField("application_failure_info") and app.HasField("next_retry_delay"):
        requested = app.next_retry_delay.ToMilliseconds()
        max_interval = requested
    if policy.maximum_attempts > 0 and info.attempt >= policy.maximum_attempts:
        return RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED, 0
    if requested is not None:
        interval = requested
    else:
        interval = int(
            policy.initial_interval_ms * policy.backoff_coefficient ** (info.attempt - 1)
        )
    if max_interval == 0 and interval <= 0:
        return RetryState.RETRY_STATE_TIMEOUT, 0
    if max_interval != 0 and (interval <= 0 or interval > max_interval):
        interval = max_interval
    expiration = info.expiration_time_ms
    if expiration and now_ms + interval > expiration:
        return RetryState.RETRY_STATE_TIMEOUT, 0
    return RetryState.RETRY_STATE_IN_PROGRESS, interval


def schedule_retry(
    b: DecisionBuilder,
    info: ActivityInfo,
    failure: Failure,
    backoff_ms: int,
    worker_reported: bool = False,
) -> None:
    """Records the next attempt; the retry deadline dispatches it after the backoff (a
    paused activity's next attempt waits for the unpause instead).

    `worker_reported` marks a failure the worker reported (not a timeout): only those set
    the last attempt's complete time (Temporal's RecordLastActivityCompleteTime).
    """
    if info.paused:
        b.add_update(
            upd.ActivityRetryPaused(
                scheduled_event_id=info.scheduled_event_id,
                last_failure=failure.SerializeToString(),
            )
        )
        return
    b.add_update(
        upd.ActivityRetry(
            scheduled_event_id=info.scheduled_event_id,
            next_attempt=info.attempt + 1,
            next_scheduled_time_ms=b.now_ms + backoff_ms,
            last_failure=failure.SerializeToString(),
            last_worker_identity=info.started_identity,
            completed_time_ms=b.now_ms if worker_reported else 0,
        )
    )


def ensure_started(b: DecisionBuilder, info: ActivityInfo, identity: str) -> ActivityInfo:
    """Marks an attempt started if no start was recorded for it.

    Matching records every start before the worker gets the task; an attempt completes
    unstarted only through the by-id RPCs (or a fire-and-forget ActivityTaskStarted of an
    older matching still on its way), and the completion then stands for the start.
    """
    if info.is_started:
        return info
    b.add_update(
        upd.ActivityStarted(
            scheduled_event_id=info.scheduled_event_id,
            attempt=info.attempt,
            started_time_ms=b.now_ms,
            request_id="",
            identity=identity,
        )
    )
    return b.run.activities[info.scheduled_event_id]


def close_activity(
    b: DecisionBuilder,
    info: ActivityInfo,
    event_type: EventType.ValueType,
    attrs: object,
    stamp: WorkerVersionStamp | None = None,
) -> None:
    """Writes the attempt's ActivityTaskStarted (if it started) and the close event.

    Both are buffered while a workflow task is started; `attrs` must carry scheduled_event_id
    and, if it has the field, gets started_event_id here. `stamp` is the completing worker's
    version stamp, which Temporal puts into the started event.
    """
    started_event_id = 0
    if info.started_event_id == STARTED_TRANSIENT:
        last_failure = Failure.FromString(info.last_failure) if info.last_failure else None
        started_attrs = ActivityTaskStartedEventAttributes(
            scheduled_event_id=info.scheduled_event_id,
            attempt=info.attempt,
            identity=info.started_identity,
            request_id=info.request_id,
            last_failure=last_failure,
            worker_version=stamp,
        )
        task = b.run.workflow_task
        if task is None or not task.is_started:
            started_event_id = b.next_event_id
        b.add_or_buffer(
            EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED, started_attrs, time_ms=info.started_time_ms
        )
    if hasattr(attrs, "started_event_id"):
        attrs.started_event_id = started_event_id
    b.add_or_buffer(event_type, attrs)  # type: ignore[arg-type]
