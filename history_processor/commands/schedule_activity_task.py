"""ScheduleActivityTask: ActivityTaskScheduled, and a task for matching unless run eagerly."""

from __future__ import annotations

from google.protobuf.duration_pb2 import Duration
from temporalio.api.command.v1 import Command as WorkflowCommand
from temporalio.api.command.v1 import ScheduleActivityTaskCommandAttributes
from temporalio.api.common.v1 import RetryPolicy as RetryPolicyProto
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import ActivityTaskScheduledEventAttributes

from history_processor import events as ev
from history_processor.builder import DecisionBuilder
from history_processor.commands import pending
from history_processor.commands.context import CommandContext, CommandFailure
from history_processor.commands.start_timer import MAX_DURATION_SECONDS
from history_processor.outbox import activity_task_record
from history_processor.pending_limits import PENDING_ACTIVITIES
from history_processor.state import RetryPolicy, duration_ms

_Cause = WorkflowTaskFailedCause


def _bad_activity(message: str) -> CommandFailure:
    return CommandFailure(
        _Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES, message
    )


def _retry_policy(attrs: ScheduleActivityTaskCommandAttributes) -> RetryPolicyProto:
    """EnsureDefaults + Validate of the activity retry policy."""
    given = attrs.retry_policy if attrs.HasField("retry_policy") else None
    checked = given is not None and given.maximum_attempts != 1
    if given is not None and checked:
        given = RetryPolicyProto()
        given.CopyFrom(attrs.retry_policy)
        # Temporal's ValidateAndCapProtoDuration, before the defaults multiply the initial
        # interval: an unchecked one of 2**62 s overflowed the Duration and failed the decide.
        why = _duration_error(given.initial_interval)
        if why is not None:
            raise _bad_activity(f"invalid InitialInterval set on retry policy: {why}")
    policy = RetryPolicy.from_proto(given)
    if not checked:
        # One attempt disables retries; Temporal validates nothing else then. The intervals
        # never matter, but must fit a Duration.
        limit = MAX_DURATION_SECONDS * 1000
        policy.initial_interval_ms = max(-limit, min(policy.initial_interval_ms, limit))
        policy.maximum_interval_ms = max(-limit, min(policy.maximum_interval_ms, limit))
        return policy.to_proto()
    if policy.backoff_coefficient < 1:
        raise _bad_activity("BackoffCoefficient cannot be less than 1 on retry policy.")
    assert given is not None
    why = _duration_error(given.maximum_interval)
    if why is not None:
        raise _bad_activity(f"invalid MaximumInterval set on retry policy: {why}")
    # The default (100 x initial) is capped like a given maximum.
    policy.maximum_interval_ms = min(policy.maximum_interval_ms, MAX_DURATION_SECONDS * 1000)
    if policy.maximum_interval_ms < policy.initial_interval_ms:
        raise _bad_activity("MaximumInterval cannot be less than InitialInterval on retry policy.")
    if policy.maximum_attempts < 0:
        raise _bad_activity("MaximumAttempts cannot be negative on retry policy.")
    return policy.to_proto()


def _duration_error(duration: Duration) -> str | None:
    """Why Temporal refuses a duration, or None; valid ones over 100 years are capped in place."""
    if (duration.seconds > 0 > duration.nanos) or (duration.seconds < 0 < duration.nanos):
        return "duration has seconds and nanos with different signs"
    if duration.seconds < 0 or duration.nanos < 0:
        return "negative duration"
    if duration.seconds >= MAX_DURATION_SECONDS:
        duration.seconds, duration.nanos = MAX_DURATION_SECONDS, 0
    return None


def _timeouts(attrs: ScheduleActivityTaskCommandAttributes, run_timeout_ms: int) -> list[int]:
    """Temporal's validateAndNormalizeTimeouts: [schedule_to_close, schedule_to_start,
    start_to_close, heartbeat] in ms."""
    names = ("schedule_to_close", "schedule_to_start", "start_to_close", "heartbeat")
    values = [duration_ms(getattr(attrs, f"{name}_timeout")) for name in names]
    for name, value in zip(names, values, strict=True):
        if value < 0:
            label = "".join(p.capitalize() for p in name.split("_"))
            raise _bad_activity(f"invalid {label}Timeout: negative duration")
    s2c, s2s, st2c, heartbeat = values
    if s2c > 0:
        s2s = min(s2s, s2c) if s2s > 0 else s2c
        st2c = min(st2c, s2c) if st2c > 0 else s2c
    elif st2c > 0:
        s2c = run_timeout_ms
        if s2s <= 0:
            s2s = run_timeout_ms
    else:
        raise _bad_activity(
            "a valid StartToCloseTimeout or ScheduleToCloseTimeout must be set on the activity. "
            f"ActivityId={attrs.activity_id} ActivityType={attrs.activity_type.name}"
        )
    if run_timeout_ms > 0:
        s2c, s2s, st2c, heartbeat = (min(v, run_timeout_ms) for v in (s2c, s2s, st2c, heartbeat))
    return [s2c, s2s, st2c, min(heartbeat, st2c)]


def _schedule_activity(
    b: DecisionBuilder, attrs: ScheduleActivityTaskCommandAttributes, completed_id: int
) -> ActivityTaskScheduledEventAttributes:
    state = b.run
    if not attrs.activity_id:
        raise _bad_activity("activityId is not set")
    if not attrs.activity_type.name:
        raise _bad_activity("activityType is not set")
    queue = attrs.task_queue.name or state.task_queue
    if attrs.use_workflow_build_id and queue != state.task_queue:
        raise _bad_activity(
            "Activity with UseCompatibleVersion cannot run on different task queue."
        )
    s2c, s2s, st2c, heartbeat = _timeouts(attrs, state.workflow_run_timeout_ms)
    # After the attributes' checks, before the duplicate-id one, as Temporal orders them.
    pending.check(b, PENDING_ACTIVITIES)
    if state.activity_by_id(attrs.activity_id) is not None:
        raise CommandFailure(
            _Cause.WORKFLOW_TASK_FAILED_CAUSE_SCHEDULE_ACTIVITY_DUPLICATE_ID,
            "invalid history builder state for action: add-activitytask-scheduled-event, "
            f"ActivityID: {attrs.activity_id}",
        )
    event_attrs = ActivityTaskScheduledEventAttributes(
        activity_id=attrs.activity_id,
        activity_type=attrs.activity_type,
        task_queue=ev.task_queue(queue),
        schedule_to_close_timeout=ev.duration(s2c),
        schedule_to_start_timeout=ev.duration(s2s),
        start_to_close_timeout=ev.duration(st2c),
        heartbeat_timeout=ev.duration(heartbeat),
        workflow_task_completed_event_id=completed_id,
        retry_policy=_retry_policy(attrs),
        use_workflow_build_id=attrs.use_workflow_build_id,
    )
    for name in ("header", "input", "priority"):
        if attrs.HasField(name):
            getattr(event_attrs, name).CopyFrom(getattr(attrs, name))
    return event_attrs


def handle(ctx: CommandContext, command: WorkflowCommand) -> None:
    """Schedules the activity; eager dispatch may take it instead of matching."""
    b = ctx.b
    requested = command.schedule_activity_task_command_attributes
    attrs = _schedule_activity(b, requested, ctx.completed_id)
    event = ev.new_event(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, b.now_ms, attrs)
    if command.HasField("user_metadata"):
        event.user_metadata.CopyFrom(command.user_metadata)
    b.append(event)
    info = b.run.activities[event.event_id]
    if ctx.eager is None or not ctx.eager.take(b.run, requested, info):
        b.add_task(activity_task_record(b.run, info))
