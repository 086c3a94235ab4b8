"""State updates: changes of mutable state that are not history events, and their encoding.

Each update payload is JSON ``{"at": <next_event_id when emitted>, "data": {...}}``. The `at`
position lets `fold.apply_batch` interleave updates with the batch's events in the order the
decider produced them, so restore folds exactly what the live decider saw.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any

from schemas import jsoncodec as codec
from schemas.exceptions import PayloadDecodeError


class UpdateKind(enum.Enum):
    """Kinds of state updates (EventBatch.updates[].kind)."""

    EXECUTION_CREATED = "execution_created"
    STICKY = "sticky"
    WORKFLOW_TASK_SCHEDULED = "workflow_task_scheduled"
    WORKFLOW_TASK_STARTED = "workflow_task_started"
    WORKFLOW_TASK_FAILED = "workflow_task_failed"
    ACTIVITY_STARTED = "activity_started"
    ACTIVITY_RETRY = "activity_retry"
    ACTIVITY_DISPATCHED = "activity_dispatched"
    ACTIVITY_HEARTBEAT = "activity_heartbeat"
    BUFFER_EVENT = "buffer_event"
    BUFFERED_TIMER_FIRED_REMOVED = "buffered_timer_fired_removed"
    BUFFER_FLUSHED = "buffer_flushed"
    WORKFLOW_TASK_HEARTBEAT = "workflow_task_heartbeat"
    ACTIVITY_PAUSED = "activity_paused"
    ACTIVITY_UNPAUSED = "activity_unpaused"
    ACTIVITY_RESET = "activity_reset"
    ACTIVITY_OPTIONS_UPDATED = "activity_options_updated"
    ACTIVITY_RESCHEDULED = "activity_rescheduled"
    ACTIVITY_RETRY_PAUSED = "activity_retry_paused"
    RESET_RUN = "reset_run"


@dataclass
class ExecutionCreated:
    """Identity of a new run that its WorkflowExecutionStarted event does not carry."""

    namespace: str
    namespace_id: str
    run_id: str
    request_id: str


@dataclass
class Sticky:
    """Sets (non-empty `task_queue`) or clears the run's sticky task queue."""

    task_queue: str = ""
    schedule_to_start_timeout_ms: int = 0


@dataclass
class WorkflowTaskScheduled:
    """A transient workflow task was scheduled (no event: attempt > 1)."""

    scheduled_event_id: int
    attempt: int
    task_queue: str
    task_queue_kind: str
    scheduled_time_ms: int
    start_to_close_timeout_ms: int


@dataclass
class WorkflowTaskStarted:
    """A transient workflow task was started (no event: attempt > 1)."""

    scheduled_event_id: int
    started_event_id: int
    started_time_ms: int
    request_id: str
    identity: str
    build_id: str
    history_size_bytes: int
    suggest_continue_as_new: bool


@dataclass
class WorkflowTaskFailed:
    """A transient workflow task failed or timed out (no event); the next attempt follows."""

    scheduled_event_id: int
    next_attempt: int


@dataclass
class ActivityStarted:
    """An activity attempt was handed to a worker (its event is written when it ends)."""

    scheduled_event_id: int
    attempt: int
    started_time_ms: int
    request_id: str
    identity: str


@dataclass
class ActivityRetry:
    """An activity attempt failed and the next one is scheduled after a backoff."""

    scheduled_event_id: int
    next_attempt: int
    next_scheduled_time_ms: int
    last_failure: bytes
    last_worker_identity: str
    completed_time_ms: int = 0


@dataclass
class ActivityDispatched:
    """The retry backoff of an activity ended and its next attempt was sent to matching."""

    scheduled_event_id: int
    attempt: int


@dataclass
class ActivityHeartbeat:
    """An activity heartbeat: its details and when it arrived."""

    scheduled_event_id: int
    details: bytes
    time_ms: int


@dataclass
class BufferEvent:
    """An event held back while a workflow task is started (serialized HistoryEvent, no id)."""

    event: bytes


@dataclass
class BufferedTimerFiredRemoved:
    """A buffered TimerFired was dropped: the workflow canceled that timer before seeing it."""

    timer_id: str


@dataclass
class BufferFlushed:
    """The buffered events were written to history."""


@dataclass
class WorkflowTaskHeartbeat:
    """The pending workflow task continues a worker's heartbeat: it inherits the time the first
    task of the chain was scheduled (Temporal's OriginalScheduledTime)."""

    original_scheduled_time_ms: int


@dataclass
class ActivityPaused:
    """An operator paused an activity (PauseActivity)."""

    scheduled_event_id: int
    time_ms: int
    identity: str
    reason: str
    request_id: str


@dataclass
class ActivityUnpaused:
    """An operator unpaused an activity (UnpauseActivity, or ResetActivity without
    keep_paused); optionally from attempt 1 and without heartbeat details."""

    scheduled_event_id: int
    reset_attempts: bool = False
    reset_heartbeat: bool = False


@dataclass
class ActivityReset:
    """An operator reset an activity (ResetActivity): attempt 1, and the running attempt's
    heartbeats are answered `activity_reset`."""

    scheduled_event_id: int
    reset_heartbeats: bool = False


@dataclass
class ActivityOptionsUpdated:
    """An activity's options changed (UpdateActivityOptions, ResetActivity's restore).

    Durations in ms; the retry policy fields as given (Temporal stores them unfilled);
    `priority` a serialized Priority.
    """

    scheduled_event_id: int
    task_queue: str
    schedule_to_close_timeout_ms: int
    schedule_to_start_timeout_ms: int
    start_to_close_timeout_ms: int
    heartbeat_timeout_ms: int
    initial_interval_ms: int
    backoff_coefficient: float
    maximum_interval_ms: int
    maximum_attempts: int
    priority: bytes = b""


@dataclass
class ActivityRescheduled:
    """An activity that is not running gets a fresh dispatch at `scheduled_time_ms`
    (Temporal's RegenerateActivityRetryTask); the retry deadline sends it to matching."""

    scheduled_event_id: int
    scheduled_time_ms: int


@dataclass
class ActivityRetryPaused:
    """An attempt of a paused activity failed: the next attempt waits for the unpause
    (Temporal's RetryActivity on a paused activity)."""

    scheduled_event_id: int
    last_failure: bytes


@dataclass
class ResetRun:
    """A reset of this run created `run_id` (Temporal's UpdateResetRunID on the base run)."""

    run_id: str


PAYLOAD_TYPES: dict[UpdateKind, type] = {
    UpdateKind.EXECUTION_CREATED: ExecutionCreated,
    UpdateKind.STICKY: Sticky,
    UpdateKind.WORKFLOW_TASK_SCHEDULED: WorkflowTaskScheduled,
    UpdateKind.WORKFLOW_TASK_STARTED: WorkflowTaskStarted,
    UpdateKind.WORKFLOW_TASK_FAILED: WorkflowTaskFailed,
    UpdateKind.ACTIVITY_STARTED: ActivityStarted,
    UpdateKind.ACTIVITY_RETRY: ActivityRetry,
    UpdateKind.ACTIVITY_DISPATCHED: ActivityDispatched,
    UpdateKind.ACTIVITY_HEARTBEAT: ActivityHeartbeat,
    UpdateKind.BUFFER_EVENT: BufferEvent,
    UpdateKind.BUFFERED_TIMER_FIRED_REMOVED: BufferedTimerFiredRemoved,
    UpdateKind.BUFFER_FLUSHED: BufferFlushed,
    UpdateKind.WORKFLOW_TASK_HEARTBEAT: WorkflowTaskHeartbeat,
    UpdateKind.ACTIVITY_PAUSED: ActivityPaused,
    UpdateKind.ACTIVITY_UNPAUSED: ActivityUnpaused,
    UpdateKind.ACTIVITY_RESET: ActivityReset,
    UpdateKind.ACTIVITY_OPTIONS_UPDATED: ActivityOptionsUpdated,
    UpdateKind.ACTIVITY_RESCHEDULED: ActivityRescheduled,
    UpdateKind.ACTIVITY_RETRY_PAUSED: ActivityRetryPaused,
    UpdateKind.RESET_RUN: ResetRun,
}

_KIND_OF_TYPE = {tp: kind for kind, tp in PAYLOAD_TYPES.items()}


def encode_update(data: Any, at: int) -> tuple[str, bytes]:
    """Returns the (kind, payload) pair of an update emitted when next_event_id was `at`."""
    kind = _KIND_OF_TYPE[type(data)]
    body = {"at": at, "data": codec.to_jsonable(data)}
    return kind.value, json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def decode_update(kind: str, payload: bytes) -> tuple[int, Any]:
    """Returns (at, payload dataclass) of an encoded update.

    Raises:
        PayloadDecodeError: unknown kind or malformed payload.
    """
    try:
        update_kind = UpdateKind(kind)
        body = json.loads(payload)
        return int(body["at"]), codec.from_jsonable(PAYLOAD_TYPES[update_kind], body["data"])
    except (ValueError, TypeError, KeyError) as exc:
        raise PayloadDecodeError(f"cannot decode state update {kind!r}: {exc}") from exc
