"""Workflow commands of a completed workflow task -> history events (ScheduleActivityTask,
CompleteWorkflowExecution, FailWorkflowExecution)."""

from __future__ import annotations

from temporalio.api.command.v1 import Command as WorkflowCommand
from temporalio.api.command.v1 import ScheduleActivityTaskCommandAttributes
from temporalio.api.common.v1 import RetryPolicy as RetryPolicyProto
from temporalio.api.enums.v1 import CommandType, EventType, RetryState, WorkflowTaskFailedCause
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import (
    ActivityTaskScheduledEventAttributes,
    WorkflowExecutionCompletedEventAttributes,
    WorkflowExecutionFailedEventAttributes,
)

from history_processor import events as ev
from history_processor.activities import is_retryable
from history_processor.builder import DecisionBuilder
from history_processor.eager_activities import EagerDispatch
from history_processor.outbox import activity_task_record
from history_processor.state import ExecutionState, RetryPolicy, _ms

_Cause = WorkflowTaskFailedCause
_CLOSE_COMMANDS = (
    CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
    CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION,
    CommandType.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION,
    CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
)
SUPPORTED = (
    CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
    CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
    CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION,
)


class CommandFailure(Exception):
    """A command the workflow task must fail for (Temporal's failWorkflowTask).

    Attributes:
        cause: The WorkflowTaskFailedCause.
        detail: The InvalidArgument message, or "" (the message is then the cause alone).
    """

    def __init__(self, cause: WorkflowTaskFailedCause.ValueType, detail: str = "") -> None:
        super().__init__(detail)
        self.cause = cause
        self.detail = detail


def sequence_error(commands: list[WorkflowCommand]) -> str | None:
    """Temporal's ValidateCommandSequence: a close command must be the last one."""
    for command in commands[:-1]:
        if command.command_type in _CLOSE_COMMANDS:
            names = [CommandType.Name(c.command_type) for c in commands]
            return (
                f"invalid command sequence: [{', '.join(names)}], command "
                f"{CommandType.Name(command.command_type)} must be the last command."
            )
    return None


def unsupported(commands: list[WorkflowCommand]) -> WorkflowCommand | None:
    """The first command Strom cannot execute yet, if any."""
    return next((c for c in commands if c.command_type not in SUPPORTED), None)


def _bad_activity(message: str) -> CommandFailure:
    return CommandFailure(
        _Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES, message
    )


def _retry_policy(attrs: ScheduleActivityTaskCommandAttributes) -> RetryPolicyProto:
    """EnsureDefaults + Validate of the activity retry policy."""
    given = attrs.retry_policy if attrs.HasField("retry_policy") else None
    policy = RetryPolicy.from_proto(given)
    if policy.maximum_attempts == 1:
        # One attempt disables retries; Temporal validates nothing else then.
        return policy.to_proto()
    if policy.backoff_coefficient < 1:
        raise _bad_activity("BackoffCoefficient cannot be less than 1 on retry policy.")
    if policy.maximum_interval_ms < policy.initial_interval_ms:
        raise _bad_activity("MaximumInterval cannot be less than InitialInterval on retry policy.")
    if policy.maximum_attempts < 0:
        raise _bad_activity("MaximumAttempts cannot be negative on retry policy.")
    return policy.to_proto()


def _timeouts(attrs: ScheduleActivityTaskCommandAttributes, run_timeout_ms: int) -> list[int]:
    """Temporal's validateAndNormalizeTimeouts: [schedule_to_close, schedule_to_start,
    start_to_close, heartbeat] in ms."""
    names = ("schedule_to_close", "schedule_to_start", "start_to_close", "heartbeat")
    values = [_ms(getattr(attrs, f"{name}_timeout")) for name in names]
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


def workflow_retry_state(state: ExecutionState, failure: Failure | None) -> int:
    """RetryState written into a close event.

    Strom does not start retry runs of a workflow yet; a run with a retry policy reports the
    state Temporal would report had it stopped retrying.
    """
    policy = state.retry_policy
    if policy is None:
        return RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET
    if failure is not None and not is_retryable(failure, policy.non_retryable_error_types):
        return RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE
    if policy.maximum_attempts > 0 and state.attempt >= policy.maximum_attempts:
        return RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED
    return RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET


def apply_commands(
    b: DecisionBuilder,
    commands: list[WorkflowCommand],
    completed_id: int,
    had_buffered: bool,
    eager: EagerDispatch | None = None,
) -> None:
    """Turns the commands into events (and activity tasks) in order.

    Activities that `eager` takes get no task record; the caller starts them with
    `eager.start` once all commands are handled.

    Raises:
        CommandFailure: the workflow task must fail instead.
    """
    for command in commands:
        kind = command.command_type
        if kind == CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK:
            attrs = _schedule_activity(
                b, command.schedule_activity_task_command_attributes, completed_id
            )
            event = ev.new_event(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, b.now_ms, attrs)
            if command.HasField("user_metadata"):
                event.user_metadata.CopyFrom(command.user_metadata)
            b.append(event)
            info = b.run.activities[event.event_id]
            requested = command.schedule_activity_task_command_attributes
            if eager is None or not eager.take(b.run, requested, info):
                b.add_task(activity_task_record(b.run, info))
            continue
        if had_buffered:
            # New events arrived while the task ran: the workflow must see them before closing.
            raise CommandFailure(_Cause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND)
        if not b.run.is_running:
            continue
        if kind == CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION:
            complete = command.complete_workflow_execution_command_attributes
            closed = WorkflowExecutionCompletedEventAttributes(
                workflow_task_completed_event_id=completed_id
            )
            if complete.HasField("result"):
                closed.result.CopyFrom(complete.result)
            event = ev.new_event(
                EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, b.now_ms, closed
            )
        else:
            fail = command.fail_workflow_execution_command_attributes
            failed = WorkflowExecutionFailedEventAttributes(
                workflow_task_completed_event_id=completed_id,
                retry_state=workflow_retry_state(b.run, fail.failure),  # type: ignore[arg-type]
            )
            if fail.HasField("failure"):
                failed.failure.CopyFrom(fail.failure)
            event = ev.new_event(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED, b.now_ms, failed)
        if command.HasField("user_metadata"):
            event.user_metadata.CopyFrom(command.user_metadata)
        b.append(event)
