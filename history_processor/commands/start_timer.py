"""StartTimer: TimerStarted, and a pending timer whose deadline fires it (deadlines.USER_TIMER)."""

from __future__ import annotations

from google.protobuf.duration_pb2 import Duration
from temporalio.api.command.v1 import Command as WorkflowCommand
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import TimerStartedEventAttributes

from history_processor import events as ev
from history_processor.commands.context import CommandContext, CommandFailure

_Cause = WorkflowTaskFailedCause

#: Temporal's limit.maxIDLength default (bytes of the UTF-8 id).
MAX_ID_LENGTH = 1000
#: Temporal caps durations at 100 years (timestamp.ValidateAndCapProtoDuration).
MAX_DURATION_SECONDS = 100 * 365 * 24 * 3600


def duration_error(duration: Duration) -> str | None:
    """Temporal's ValidateAndCapProtoDuration check: why the duration is invalid, or None."""
    if (duration.seconds > 0 and duration.nanos < 0) or (
        duration.seconds < 0 and duration.nanos > 0
    ):
        return "duration has seconds and nanos with different signs"
    if duration.seconds < 0 or duration.nanos < 0:
        return "negative duration"
    return None


def id_error(timer_id: str, command_name: str) -> str | None:
    """Temporal's timer id checks (ValidateTimerScheduleAttributes / CancelAttributes)."""
    if not timer_id:
        return f"TimerId is not set on {command_name}."
    length = len(timer_id.encode())
    if length > MAX_ID_LENGTH:
        return (
            f"TimerId on {command_name} exceeds length limit. "
            f"TimerId={timer_id} Length={length} Limit={MAX_ID_LENGTH}"
        )
    return None


def _validated_timeout(command: WorkflowCommand) -> Duration | None:
    """The StartToFireTimeout to record (capped), or None when unset.

    Raises:
        CommandFailure: BAD_START_TIMER_ATTRIBUTES with Temporal's message.
    """
    if not command.HasField("start_timer_command_attributes"):
        raise CommandFailure(
            _Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES,
            "StartTimerCommandAttributes is not set on StartTimerCommand.",
        )
    attrs = command.start_timer_command_attributes
    bad_id = id_error(attrs.timer_id, "StartTimerCommand")
    if bad_id is not None:
        raise CommandFailure(_Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES, bad_id)
    if not attrs.HasField("start_to_fire_timeout"):
        return None
    timeout = Duration()
    timeout.CopyFrom(attrs.start_to_fire_timeout)
    bad = duration_error(timeout)
    if bad is not None:
        raise CommandFailure(
            _Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES,
            f"An invalid StartToFireTimeout is set on StartTimerCommand: {bad}. "
            f"TimerId={attrs.timer_id}",
        )
    if timeout.seconds > MAX_DURATION_SECONDS:
        timeout.seconds, timeout.nanos = MAX_DURATION_SECONDS, 0
    return timeout


def handle(ctx: CommandContext, command: WorkflowCommand) -> None:
    """Starts the timer (AddTimerStartedEvent); a timer id already pending fails the task."""
    timeout = _validated_timeout(command)
    timer_id = command.start_timer_command_attributes.timer_id
    if timer_id in ctx.b.run.timers:
        raise CommandFailure(
            _Cause.WORKFLOW_TASK_FAILED_CAUSE_START_TIMER_DUPLICATE_ID,
            "invalid history builder state for action: add-timer-started-event, "
            f"TimerID: {timer_id}",
        )
    attrs = TimerStartedEventAttributes(
        timer_id=timer_id,
        start_to_fire_timeout=timeout,
        workflow_task_completed_event_id=ctx.completed_id,
    )
    event = ev.new_event(EventType.EVENT_TYPE_TIMER_STARTED, ctx.b.now_ms, attrs)
    if command.HasField("user_metadata"):
        event.user_metadata.CopyFrom(command.user_metadata)
    ctx.b.append(event)
