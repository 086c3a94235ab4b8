"""Durable timers that a state implies: workflow/activity timeouts, retry backoff, start delay,
user timers.

The caller keeps an index of `deadlines(state)` (diffed after every decision) and submits a
TimerFired command with the Deadline as payload when one is due. The TimerFired handler fires
a deadline only if `deadlines(state)` still contains it, so stale timers are harmless.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from history_processor.state import ActivityInfo, ExecutionState, TaskQueueKind
from schemas import jsoncodec as codec


class DeadlineKind(enum.Enum):
    """What a deadline does when it fires."""

    WORKFLOW_TASK_START_TO_CLOSE = "workflow_task_start_to_close"
    WORKFLOW_TASK_SCHEDULE_TO_START = "workflow_task_schedule_to_start"
    FIRST_WORKFLOW_TASK_BACKOFF = "first_workflow_task_backoff"
    ACTIVITY_SCHEDULE_TO_START = "activity_schedule_to_start"
    ACTIVITY_START_TO_CLOSE = "activity_start_to_close"
    ACTIVITY_SCHEDULE_TO_CLOSE = "activity_schedule_to_close"
    ACTIVITY_HEARTBEAT = "activity_heartbeat"
    ACTIVITY_RETRY = "activity_retry"
    WORKFLOW_RUN_TIMEOUT = "workflow_run_timeout"
    USER_TIMER = "user_timer"


@dataclass(frozen=True, order=True)
class Deadline:
    """A durable timer of one run.

    Attributes:
        fire_at_ms: Epoch milliseconds when it is due.
        kind: A `DeadlineKind` value.
        ref: What it refers to within the run: "<scheduled event id>/<attempt>" for workflow
            and activity task timers, the timer id for user timers, "" for run-level timers.
        run_id: The run it belongs to.
    """

    fire_at_ms: int
    kind: str
    ref: str
    run_id: str

    def to_bytes(self) -> bytes:
        """Serialization used as the TimerFired payload."""
        return codec.dumps(self)

    @classmethod
    def from_bytes(cls, data: bytes) -> Deadline:
        """Parses `to_bytes` output (raises PayloadDecodeError on garbage)."""
        return codec.loads(cls, data)


def task_ref(scheduled_event_id: int, attempt: int) -> str:
    """The `ref` of a workflow or activity task deadline."""
    return f"{scheduled_event_id}/{attempt}"


def parse_task_ref(ref: str) -> tuple[int, int]:
    """Inverse of `task_ref`: (scheduled event id, attempt)."""
    scheduled, attempt = ref.split("/")
    return int(scheduled), int(attempt)


def _activity_deadlines(state: ExecutionState, info: ActivityInfo) -> list[Deadline]:
    if info.paused:
        return []  # Temporal's timer sequence skips paused activities: no timeout, no retry.
    ref = task_ref(info.scheduled_event_id, info.attempt)
    out: list[tuple[int, DeadlineKind]] = []
    if info.awaiting_retry:
        out.append((info.scheduled_time_ms, DeadlineKind.ACTIVITY_RETRY))
    if not info.is_started and info.schedule_to_start_timeout_ms > 0:
        out.append(
            (
                info.scheduled_time_ms + info.schedule_to_start_timeout_ms,
                DeadlineKind.ACTIVITY_SCHEDULE_TO_START,
            )
        )
    if info.schedule_to_close_timeout_ms > 0:
        out.append((info.expiration_time_ms, DeadlineKind.ACTIVITY_SCHEDULE_TO_CLOSE))
    if info.is_started and info.start_to_close_timeout_ms > 0:
        out.append(
            (
                info.started_time_ms + info.start_to_close_timeout_ms,
                DeadlineKind.ACTIVITY_START_TO_CLOSE,
            )
        )
    if info.is_started and info.heartbeat_timeout_ms > 0:
        last = max(info.started_time_ms, info.last_heartbeat_time_ms)
        out.append((last + info.heartbeat_timeout_ms, DeadlineKind.ACTIVITY_HEARTBEAT))
    return [Deadline(at, kind.value, ref, state.run_id) for at, kind in out]


def _workflow_task_deadlines(state: ExecutionState) -> list[Deadline]:
    task = state.workflow_task
    if task is None:
        if not state.first_workflow_task_scheduled and state.first_workflow_task_backoff_ms > 0:
            return [
                Deadline(
                    state.execution_time_ms,
                    DeadlineKind.FIRST_WORKFLOW_TASK_BACKOFF.value,
                    "",
                    state.run_id,
                )
            ]
        return []
    ref = task_ref(task.scheduled_event_id, task.attempt)
    if task.is_started:
        at = task.started_time_ms + task.start_to_close_timeout_ms
        return [Deadline(at, DeadlineKind.WORKFLOW_TASK_START_TO_CLOSE.value, ref, state.run_id)]
    if task.task_queue_kind is TaskQueueKind.STICKY and task.schedule_to_start_timeout_ms > 0:
        at = task.scheduled_time_ms + task.schedule_to_start_timeout_ms
        return [Deadline(at, DeadlineKind.WORKFLOW_TASK_SCHEDULE_TO_START.value, ref, state.run_id)]
    return []


def run_expiration_time_ms(state: ExecutionState) -> int:
    """When the run times out (Temporal's WorkflowRunExpirationTime), 0 for never."""
    if state.workflow_run_timeout_ms <= 0:
        return 0
    at = state.start_time_ms + state.first_workflow_task_backoff_ms + state.workflow_run_timeout_ms
    if state.execution_expiration_time_ms:
        at = min(at, state.execution_expiration_time_ms)
    return at


def deadlines(state: ExecutionState | None) -> list[Deadline]:
    """All durable timers that exist for this state, sorted by fire time.

    A closed run has none. Workflow-execution timeouts of later runs in a chain do not exist in
    Strom (no continue-as-new yet), so the run timeout, capped at the execution expiration,
    covers both, as on Temporal's first run.
    """
    if state is None or not state.is_running:
        return []
    out = _workflow_task_deadlines(state)
    for info in state.activities.values():
        out.extend(_activity_deadlines(state, info))
    for timer in state.timers.values():
        out.append(
            Deadline(
                timer.expiry_time_ms, DeadlineKind.USER_TIMER.value, timer.timer_id, state.run_id
            )
        )
    expiration = run_expiration_time_ms(state)
    if expiration:
        out.append(Deadline(expiration, DeadlineKind.WORKFLOW_RUN_TIMEOUT.value, "", state.run_id))
    return sorted(out)
