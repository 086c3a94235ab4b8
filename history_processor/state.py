"""Mutable state of one workflow run: what the decider needs, never the event list itself."""

from __future__ import annotations

import enum
import typing
from dataclasses import dataclass, field

from temporalio.api.common.v1 import RetryPolicy as RetryPolicyProto
from temporalio.api.enums.v1 import WorkflowExecutionStatus

from history_processor.relatives import ChildInfo, ExternalRequest, ParentInfo
from schemas import jsoncodec as codec

# Temporal's defaults for a retry policy's unset fields (common/retrypolicy DefaultRetrySettings).
DEFAULT_INITIAL_INTERVAL_MS = 1000
DEFAULT_BACKOFF_COEFFICIENT = 2.0
DEFAULT_MAXIMUM_INTERVAL_COEFFICIENT = 100

# Activity started_event_id markers (Temporal: TransientEventID, BufferedEventID).
STARTED_TRANSIENT = -124
STARTED_BUFFERED = -123


class WorkflowStatus(enum.Enum):
    """Life cycle of a run; the value is the visibility record's status string."""

    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELED = "Canceled"
    TERMINATED = "Terminated"
    CONTINUED_AS_NEW = "ContinuedAsNew"
    TIMED_OUT = "TimedOut"

    @property
    def is_running(self) -> bool:
        """True until the run is closed."""
        return self is WorkflowStatus.RUNNING

    def to_proto(self) -> WorkflowExecutionStatus.ValueType:
        """Returns Temporal's WorkflowExecutionStatus enum value."""
        return _STATUS_PROTO[self]


_STATUS_PROTO = {
    WorkflowStatus.RUNNING: WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING,
    WorkflowStatus.COMPLETED: WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED,
    WorkflowStatus.FAILED: WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED,
    WorkflowStatus.CANCELED: WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED,
    WorkflowStatus.TERMINATED: WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED,
    WorkflowStatus.CONTINUED_AS_NEW: (
        WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW
    ),
    WorkflowStatus.TIMED_OUT: WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT,
}


class TaskQueueKind(enum.Enum):
    """Kind of the task queue a workflow task is scheduled on (TaskRecord.task_queue_kind)."""

    NORMAL = "normal"
    STICKY = "sticky"


def duration_ms(duration: object) -> int:
    """Milliseconds of a google.protobuf.Duration."""
    seconds = getattr(duration, "seconds", 0)
    nanos = getattr(duration, "nanos", 0)
    return int(seconds) * 1000 + int(nanos) // 1_000_000


@dataclass
class RetryPolicy:
    """A retry policy with Temporal's defaults filled in (0 attempts = unlimited)."""

    initial_interval_ms: int = DEFAULT_INITIAL_INTERVAL_MS
    backoff_coefficient: float = DEFAULT_BACKOFF_COEFFICIENT
    maximum_interval_ms: int = DEFAULT_MAXIMUM_INTERVAL_COEFFICIENT * DEFAULT_INITIAL_INTERVAL_MS
    maximum_attempts: int = 0
    non_retryable_error_types: list[str] = field(default_factory=list)

    @classmethod
    def from_proto(cls, proto: RetryPolicyProto | None) -> RetryPolicy:
        """Builds a policy from the proto, filling unset fields like Temporal's EnsureDefaults."""
        if proto is None:
            return cls()
        initial = duration_ms(proto.initial_interval) or DEFAULT_INITIAL_INTERVAL_MS
        maximum = (
            duration_ms(proto.maximum_interval) or DEFAULT_MAXIMUM_INTERVAL_COEFFICIENT * initial
        )
        return cls(
            initial_interval_ms=initial,
            backoff_coefficient=proto.backoff_coefficient or DEFAULT_BACKOFF_COEFFICIENT,
            maximum_interval_ms=maximum,
            maximum_attempts=proto.maximum_attempts,
            non_retryable_error_types=list(proto.non_retryable_error_types),
        )

    def to_proto(self) -> RetryPolicyProto:
        """Returns the policy as the proto written into events."""
        proto = RetryPolicyProto(
            backoff_coefficient=self.backoff_coefficient,
            maximum_attempts=self.maximum_attempts,
            non_retryable_error_types=self.non_retryable_error_types,
        )
        proto.initial_interval.FromMilliseconds(self.initial_interval_ms)
        proto.maximum_interval.FromMilliseconds(self.maximum_interval_ms)
        return proto


@dataclass
class WorkflowTaskInfo:
    """The pending workflow task (Temporal allows at most one).

    A transient task (attempt > 1 after failures) has no scheduled/started events in history;
    they are written when it completes and only shown to the worker in its poll response.
    """

    scheduled_event_id: int
    attempt: int
    task_queue: str
    task_queue_kind: TaskQueueKind
    scheduled_time_ms: int
    start_to_close_timeout_ms: int
    schedule_to_start_timeout_ms: int = 0
    transient: bool = False
    started_event_id: int = 0
    started_time_ms: int = 0
    request_id: str = ""
    identity: str = ""
    build_id: str = ""
    history_size_bytes: int = 0
    suggest_continue_as_new: bool = False
    original_scheduled_time_ms: int = 0

    @property
    def is_started(self) -> bool:
        """True once a worker picked the task up."""
        return self.started_event_id != 0

    @property
    def first_scheduled_time_ms(self) -> int:
        """When the first task of a chain of workflow task heartbeats was scheduled (this
        task's own scheduled time when it is no heartbeat)."""
        return self.original_scheduled_time_ms or self.scheduled_time_ms


@dataclass
class ActivityPause:
    """Why and when an operator paused an activity (Temporal's ActivityInfo.PauseInfo, manual).

    Attributes:
        time_ms: When PauseActivity was applied.
        identity: The caller's identity.
        reason: The caller's reason.
        request_id: The request id, so a retried PauseActivity is not refused.
    """

    time_ms: int
    identity: str = ""
    reason: str = ""
    request_id: str = ""


@dataclass
class ActivityInfo:
    """A pending activity, keyed by its scheduled event id.

    `scheduled_attributes` holds the serialized ActivityTaskScheduledEventAttributes so that
    retries can rebuild the activity task (input, header) without reading history; the
    timeouts, task queue, retry policy and `priority` (serialized Priority, empty for the
    scheduled one) are the current options, which UpdateActivityOptions may change.
    """

    scheduled_event_id: int
    activity_id: str
    activity_type: str
    task_queue: str
    scheduled_time_ms: int
    first_scheduled_time_ms: int
    schedule_to_close_timeout_ms: int
    schedule_to_start_timeout_ms: int
    start_to_close_timeout_ms: int
    heartbeat_timeout_ms: int
    retry_policy: RetryPolicy
    scheduled_attributes: bytes = b""
    attempt: int = 1
    started_event_id: int = 0
    started_time_ms: int = 0
    started_identity: str = ""
    request_id: str = ""
    last_failure: bytes = b""
    last_worker_identity: str = ""
    heartbeat_details: bytes = b""
    last_heartbeat_time_ms: int = 0
    awaiting_retry: bool = False
    cancel_requested: bool = False
    cancel_request_event_id: int = 0
    last_attempt_complete_time_ms: int = 0
    # Operator controls (Temporal's PauseActivity / ResetActivity / UpdateActivityOptions).
    pause: ActivityPause | None = None
    activity_reset: bool = False
    reset_heartbeats: bool = False
    priority: bytes = b""
    # Temporal's ActivityInfo.stamp: moves on whenever an operator makes the activity go out
    # again (options, reset, unpause), so a task still queued from before cannot start it.
    stamp: int = 0

    @property
    def paused(self) -> bool:
        """True while an operator holds the activity: no attempt is dispatched, no timer runs."""
        return self.pause is not None

    @property
    def is_started(self) -> bool:
        """True while an attempt runs on a worker."""
        return self.started_event_id != 0

    @property
    def expiration_time_ms(self) -> int:
        """When retries must stop (schedule-to-close), 0 if unbounded."""
        if self.schedule_to_close_timeout_ms <= 0:
            return 0
        return self.first_scheduled_time_ms + self.schedule_to_close_timeout_ms


@dataclass
class TimerInfo:
    """A pending user timer (Temporal's TimerInfo), keyed by its timer id.

    Attributes:
        timer_id: The workflow's id for the timer (StartTimer's timer_id).
        started_event_id: Event id of its TimerStarted.
        expiry_time_ms: When it fires: TimerStarted's event time plus start_to_fire_timeout.
    """

    timer_id: str
    started_event_id: int
    expiry_time_ms: int


@dataclass
class WorkflowUpdateInfo:
    """A workflow update written to history (Temporal's UpdateInfo): pointers to its events.

    Admitted updates are not here: they live in the history processor's memory only
    (`history_processor.wf_updates.registry`), as in Temporal's update registry.

    Attributes:
        accepted_event_id: Event id of its WorkflowExecutionUpdateAccepted.
        completed_event_id: Event id of its WorkflowExecutionUpdateCompleted, 0 while running.
    """

    accepted_event_id: int
    completed_event_id: int = 0


@dataclass
class ExecutionState:
    """Mutable state of one workflow run.

    A pure function of the run's committed events and state updates (see `fold`). Events
    themselves are stored by the caller, keyed by event id.
    """

    namespace: str
    namespace_id: str
    workflow_id: str
    run_id: str
    workflow_type: str
    task_queue: str
    start_time_ms: int
    status: WorkflowStatus = WorkflowStatus.RUNNING
    first_execution_run_id: str = ""
    start_request_id: str = ""
    identity: str = ""
    attempt: int = 1
    execution_time_ms: int = 0
    close_time_ms: int = 0
    close_event_id: int = 0
    workflow_execution_timeout_ms: int = 0
    workflow_run_timeout_ms: int = 0
    workflow_task_timeout_ms: int = 0
    execution_expiration_time_ms: int = 0
    first_workflow_task_backoff_ms: int = 0
    retry_policy: RetryPolicy | None = None
    cron_schedule: str = ""
    input: bytes = b""
    header: bytes = b""
    memo: bytes = b""
    search_attributes: bytes = b""
    next_event_id: int = 1
    history_size_bytes: int = 0
    state_transition_count: int = 0
    last_completed_wft_started_event_id: int = 0
    workflow_task_attempt: int = 1
    first_workflow_task_scheduled: bool = False
    workflow_task: WorkflowTaskInfo | None = None
    sticky_task_queue: str = ""
    sticky_schedule_to_start_timeout_ms: int = 0
    buffered_events: list[bytes] = field(default_factory=list)
    timers: dict[str, TimerInfo] = field(default_factory=dict)
    activities: dict[int, ActivityInfo] = field(default_factory=dict)
    # Signals and cancel requests written to history (buffered ones are not folded yet).
    signal_count: int = 0
    signal_request_ids: list[str] = field(default_factory=list)
    cancel_requested: bool = False
    # The run a reset of this run created (Describe's workflow_extended_info.reset_run_id).
    reset_run_id: str = ""
    # Temporal's workflowCloseAttempted: the last workflow task failed with UNHANDLED_COMMAND.
    close_attempted: bool = False
    # The start event's user metadata (static summary and details; Describe shows them).
    user_metadata: bytes = b""
    # Workflows this run reaches (history_processor.relatives); the root is set for children.
    parent: ParentInfo | None = None
    root_workflow_id: str = ""
    root_run_id: str = ""
    children: dict[int, ChildInfo] = field(default_factory=dict)
    external_signals: dict[int, ExternalRequest] = field(default_factory=dict)
    external_cancels: dict[int, ExternalRequest] = field(default_factory=dict)
    # Workflow updates accepted in this run, by update id.
    workflow_updates: dict[str, WorkflowUpdateInfo] = field(default_factory=dict)

    @property
    def is_running(self) -> bool:
        """True until the run is closed."""
        return self.status.is_running

    @property
    def has_buffered_events(self) -> bool:
        """True when events wait for the started workflow task to end."""
        return bool(self.buffered_events)

    def activity_by_id(self, activity_id: str) -> ActivityInfo | None:
        """Returns the pending activity with this activity id, if any."""
        for info in self.activities.values():
            if info.activity_id == activity_id:
                return info
        return None

    def copy(self) -> ExecutionState:
        """A deep copy, for deciders that must not touch their input."""
        return typing.cast(ExecutionState, codec.clone(self))

    def to_bytes(self) -> bytes:
        """Serializes the state (JSON; bytes fields base64)."""
        return codec.dumps(self)

    @classmethod
    def from_bytes(cls, data: bytes) -> ExecutionState:
        """Parses `to_bytes` output.

        Raises:
            PayloadDecodeError: malformed data.
        """
        return codec.loads(cls, data)
