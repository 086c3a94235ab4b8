"""Workflow task commands: activity normalization, invalid commands, unsupported commands."""

from __future__ import annotations

from temporalio.api.command.v1 import Command as WorkflowCommand
from temporalio.api.enums.v1 import CommandType, WorkflowTaskFailedCause
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueResponse,
    RespondWorkflowTaskCompletedResponse,
)

from schemas.reply import Code
from tests.unit.history.harness import (
    Glue,
    complete_workflow,
    first_task,
    ok_payload,
    schedule_activity,
    types,
)


def test_activity_timeouts_and_retry_policy_are_normalized() -> None:
    glue = Glue()
    glue.start(workflow_run_timeout={"seconds": 60})
    poll = ok_payload(glue.poll_workflow_task(), PollWorkflowTaskQueueResponse)
    command = schedule_activity(start_to_close_ms=0, schedule_to_close_timeout={"seconds": 30})
    command.schedule_activity_task_command_attributes.heartbeat_timeout.FromSeconds(45)
    long = schedule_activity("2", start_to_close_ms=600_000)
    decision = glue.complete_workflow_task(poll, command, long)
    short, capped = (e.activity_task_scheduled_event_attributes for e in decision.events[1:])
    assert short.schedule_to_close_timeout.seconds == 30
    assert short.schedule_to_start_timeout.seconds == 30  # from schedule-to-close
    assert short.start_to_close_timeout.seconds == 30
    assert short.heartbeat_timeout.seconds == 30  # at most start-to-close
    assert short.retry_policy.initial_interval.seconds == 1
    assert short.retry_policy.maximum_interval.seconds == 100
    assert short.retry_policy.backoff_coefficient == 2.0
    # With only start-to-close, the others come from the run timeout, which also caps it.
    assert capped.schedule_to_close_timeout.seconds == 60
    assert capped.schedule_to_start_timeout.seconds == 60
    assert capped.start_to_close_timeout.seconds == 60
    assert capped.workflow_task_completed_event_id == 4


def test_extreme_retry_intervals_fail_the_task_or_are_capped() -> None:
    # Found by the fuzz test: 100 x an initial interval of 2**62 s overflowed the Duration.
    glue = Glue()
    poll = first_task(glue)
    negative = schedule_activity(start_to_close_ms=1000)
    negative.schedule_activity_task_command_attributes.retry_policy.initial_interval.seconds = -(
        2**62
    )
    reply = glue.complete_workflow_task(poll, negative).reply
    assert reply is not None and reply.status_code == Code.INVALID_ARGUMENT
    assert reply.message == (
        "BadScheduleActivityAttributes: invalid InitialInterval set on retry policy: "
        "negative duration"
    )
    glue = Glue()
    poll = first_task(glue)
    huge = schedule_activity(start_to_close_ms=1000)
    huge.schedule_activity_task_command_attributes.retry_policy.initial_interval.seconds = 2**62
    single = schedule_activity("2", start_to_close_ms=1000)
    single.schedule_activity_task_command_attributes.retry_policy.initial_interval.seconds = 2**62
    single.schedule_activity_task_command_attributes.retry_policy.maximum_attempts = 1
    decision = glue.complete_workflow_task(poll, huge, single)
    capped, once = (e.activity_task_scheduled_event_attributes for e in decision.events[1:])
    century = 100 * 365 * 24 * 3600
    assert capped.retry_policy.initial_interval.seconds == century
    assert capped.retry_policy.maximum_interval.seconds == century
    assert once.retry_policy.maximum_attempts == 1


def test_bad_activity_attributes_fail_the_task() -> None:
    glue = Glue()
    poll = first_task(glue)
    decision = glue.complete_workflow_task(poll, schedule_activity(start_to_close_ms=0))
    reply = decision.reply
    assert reply is not None and reply.status_code == Code.INVALID_ARGUMENT
    assert reply.message.startswith("BadScheduleActivityAttributes: a valid StartToCloseTimeout")
    assert types(decision) == ["WORKFLOW_TASK_FAILED"]  # the next attempt is transient
    failed = decision.events[0].workflow_task_failed_event_attributes
    assert (
        failed.cause
        == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES
    )
    assert failed.failure.message == reply.message
    assert decision.tasks[0]["attempt"] == 2
    # On a transient attempt the same failure is only answered, not recorded.
    retry = ok_payload(glue.poll_workflow_task(request_id="poll-2"), PollWorkflowTaskQueueResponse)
    again = glue.complete_workflow_task(retry, schedule_activity(start_to_close_ms=0))
    assert again.events == [] and again.updates == []
    assert again.reply is not None and again.reply.status_code == Code.INVALID_ARGUMENT


def test_duplicate_activity_id() -> None:
    glue = Glue()
    poll = first_task(glue)
    decision = glue.complete_workflow_task(poll, schedule_activity("x"), schedule_activity("x"))
    assert types(decision) == ["WORKFLOW_TASK_FAILED"]
    cause = decision.events[0].workflow_task_failed_event_attributes.cause
    assert (
        cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_SCHEDULE_ACTIVITY_DUPLICATE_ID
    )
    assert decision.tasks and all(t["task_kind"] == "workflow" for t in decision.tasks)


def test_close_command_must_be_last() -> None:
    glue = Glue()
    poll = first_task(glue)
    decision = glue.complete_workflow_task(poll, complete_workflow(), schedule_activity())
    assert decision.events == []
    reply = decision.reply
    assert reply is not None and reply.status_code == Code.INVALID_ARGUMENT
    assert "COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION must be the last command" in reply.message


def test_unsupported_command_changes_nothing() -> None:
    glue = Glue()
    poll = first_task(glue)
    # Nexus comes with its own issue; until then its command is the unsupported example.
    nexus = WorkflowCommand(command_type=CommandType.COMMAND_TYPE_SCHEDULE_NEXUS_OPERATION)
    nexus.schedule_nexus_operation_command_attributes.endpoint = "endpoint"
    decision = glue.complete_workflow_task(poll, nexus)
    assert decision.events == [] and decision.updates == [] and decision.tasks == []
    reply = decision.reply
    assert reply is not None and reply.status_code == Code.UNIMPLEMENTED
    assert reply.message == "Strom does not support command ScheduleNexusOperation yet."


def test_heartbeat_completion_returns_a_new_task_inline() -> None:
    glue = Glue()
    poll = first_task(glue)
    decision = glue.complete_workflow_task(
        poll, force_create_new_workflow_task=True, return_new_workflow_task=True
    )
    assert types(decision) == [
        "WORKFLOW_TASK_COMPLETED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
    ]
    assert decision.tasks == []
    new_task = ok_payload(decision, RespondWorkflowTaskCompletedResponse).workflow_task
    assert new_task.started_event_id == 6 and [e.event_id for e in new_task.history.events] == [
        4,
        5,
        6,
    ]
    done = glue.complete_workflow_task(new_task, complete_workflow())
    assert types(done) == ["WORKFLOW_TASK_COMPLETED", "WORKFLOW_EXECUTION_COMPLETED"]
