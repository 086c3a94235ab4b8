"""RequestCancelActivityTask and RespondActivityTaskCanceled: Temporal's rules, decided purely."""

from __future__ import annotations

from typing import Any

from temporalio.api.command.v1 import Command as WorkflowCommand
from temporalio.api.enums.v1 import (
    CommandType,
    PendingActivityState,
    RetryState,
    WorkflowTaskFailedCause,
)
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    DescribeWorkflowExecutionResponse,
    PollWorkflowTaskQueueResponse,
    RecordActivityTaskHeartbeatRequest,
    RecordActivityTaskHeartbeatResponse,
    RespondActivityTaskCanceledRequest,
    RespondWorkflowTaskCompletedResponse,
)

from history_processor.commands.request_cancel_activity_task import NOT_STARTED_DETAILS
from history_processor.deadlines import DeadlineKind, deadlines
from history_processor.model import Decision
from schemas.reply import Code
from tests.unit.history.harness import (
    Glue,
    app_failure,
    complete_workflow,
    first_task,
    ok_payload,
    payloads,
    schedule_activity,
    sticky,
    types,
)

SLOW, QUICK = 5, 6  # scheduled event ids of the two activities of `two_activities`
BAD_CANCEL = (
    WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES
)


def cancel_activity(scheduled_event_id: int) -> WorkflowCommand:
    """A RequestCancelActivityTask command as the SDK sends it."""
    command = WorkflowCommand(command_type=CommandType.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK)
    command.request_cancel_activity_task_command_attributes.scheduled_event_id = scheduled_event_id
    return command


def two_activities(glue: Glue, **slow: Any) -> PollWorkflowTaskQueueResponse:
    """Schedules a slow and a quick activity; the quick one completes; returns the started
    workflow task that may cancel the slow one."""
    poll = first_task(glue)
    glue.complete_workflow_task(
        poll,
        schedule_activity("slow", **slow),
        schedule_activity("quick"),
        sticky_attributes=sticky(),
    )
    glue.start_activity(QUICK)
    glue.complete_activity(QUICK)
    return ok_payload(glue.poll_workflow_task(), PollWorkflowTaskQueueResponse)


def cancel(glue: Glue, poll: PollWorkflowTaskQueueResponse, *more: Any, **kw: Any) -> Decision:
    return glue.complete_workflow_task(
        poll, cancel_activity(SLOW), *more, sticky_attributes=sticky(), **kw
    )


def _canceled_by_worker(glue: Glue, details: bytes = b"") -> Decision:
    request = RespondActivityTaskCanceledRequest(
        task_token=glue.activity_task(SLOW)["task_token"],
        identity="worker-2",
        details=payloads(details) if details else None,
    )
    return glue.submit("RespondActivityTaskCanceled", request)


def _pending_state(glue: Glue) -> int:
    described = glue.submit("DescribeWorkflowExecution", DescribeWorkflowExecutionRequest())
    (pending,) = ok_payload(described, DescribeWorkflowExecutionResponse).pending_activities
    return pending.state


def test_an_activity_no_worker_has_is_canceled_at_once() -> None:
    glue = Glue()
    poll = two_activities(glue)
    decision = cancel(glue, poll)
    assert types(decision) == [
        "WORKFLOW_TASK_COMPLETED",
        "ACTIVITY_TASK_CANCEL_REQUESTED",
        "ACTIVITY_TASK_CANCELED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    completed, requested, canceled, _ = decision.events
    assert requested.activity_task_cancel_requested_event_attributes.scheduled_event_id == SLOW
    assert (
        requested.activity_task_cancel_requested_event_attributes.workflow_task_completed_event_id
        == completed.event_id
    )
    attrs = canceled.activity_task_canceled_event_attributes
    assert (attrs.scheduled_event_id, attrs.started_event_id) == (SLOW, 0)
    assert attrs.latest_cancel_requested_event_id == requested.event_id
    assert attrs.details == NOT_STARTED_DETAILS
    assert attrs.details.payloads[0].data == b'"ACTIVITY_ID_NOT_STARTED"'
    assert attrs.identity == "worker-1"  # the worker that completed the workflow task
    assert glue.state is not None and SLOW not in glue.state.activities
    assert decision.tasks[-1]["task_kind"] == "workflow"  # the workflow must see it
    assert glue.restore() == glue.state


def test_not_started_cancel_returns_the_new_workflow_task_inline() -> None:
    glue = Glue()
    poll = two_activities(glue)
    decision = cancel(glue, poll, return_new_workflow_task=True)
    assert types(decision)[-2:] == ["WORKFLOW_TASK_SCHEDULED", "WORKFLOW_TASK_STARTED"]
    response = ok_payload(decision, RespondWorkflowTaskCompletedResponse)
    assert response.workflow_task.started_event_id == decision.events[-1].event_id
    assert not [t for t in decision.tasks if t["task_kind"] == "workflow"]


def test_cancel_and_complete_in_one_task_closes_without_the_canceled_event() -> None:
    # TRY_CANCEL: the workflow goes on at once. The buffered ActivityTaskCanceled dies with
    # the run, as in Temporal's history.
    glue = Glue()
    poll = two_activities(glue)
    decision = cancel(glue, poll, complete_workflow())
    assert types(decision) == [
        "WORKFLOW_TASK_COMPLETED",
        "ACTIVITY_TASK_CANCEL_REQUESTED",
        "WORKFLOW_EXECUTION_COMPLETED",
    ]
    assert glue.restore() == glue.state


def test_the_canceled_event_follows_the_other_commands_events() -> None:
    glue = Glue()
    poll = two_activities(glue)
    decision = cancel(glue, poll, schedule_activity("later"))
    assert types(decision) == [
        "WORKFLOW_TASK_COMPLETED",
        "ACTIVITY_TASK_CANCEL_REQUESTED",
        "ACTIVITY_TASK_SCHEDULED",
        "ACTIVITY_TASK_CANCELED",
        "WORKFLOW_TASK_SCHEDULED",
    ]


def test_a_running_activity_is_asked_through_its_heartbeat() -> None:
    glue = Glue()
    poll = two_activities(glue, heartbeat_timeout={"seconds": 5})
    glue.start_activity(SLOW)
    decision = cancel(glue, poll)
    assert types(decision) == ["WORKFLOW_TASK_COMPLETED", "ACTIVITY_TASK_CANCEL_REQUESTED"]
    assert glue.state is not None and glue.state.activities[SLOW].cancel_requested
    assert _pending_state(glue) == PendingActivityState.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED
    beat = RecordActivityTaskHeartbeatRequest(task_token=glue.activity_task(SLOW)["task_token"])
    answer = ok_payload(
        glue.submit("RecordActivityTaskHeartbeat", beat), RecordActivityTaskHeartbeatResponse
    )
    assert answer.cancel_requested is True
    canceled = _canceled_by_worker(glue, b"stopped")
    assert types(canceled) == [
        "ACTIVITY_TASK_STARTED",
        "ACTIVITY_TASK_CANCELED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    started, closed, _ = canceled.events
    attrs = closed.activity_task_canceled_event_attributes
    assert attrs.started_event_id == started.event_id
    assert attrs.latest_cancel_requested_event_id == decision.events[1].event_id
    assert (attrs.identity, attrs.details.payloads[0].data) == ("worker-2", b"stopped")
    assert not started.activity_task_started_event_attributes.HasField("worker_version")
    assert glue.restore() == glue.state
    assert not [d for d in deadlines(glue.state) if d.kind.startswith("activity")]


def test_cancel_while_a_workflow_task_runs_is_buffered() -> None:
    glue = Glue()
    poll = two_activities(glue)
    glue.start_activity(SLOW)
    cancel(glue, poll, force_create_new_workflow_task=True)
    glue.poll_workflow_task()
    buffered = _canceled_by_worker(glue)
    assert buffered.events == []
    assert glue.state is not None and SLOW not in glue.state.activities


def test_cancel_only_after_a_request() -> None:
    glue = Glue()
    two_activities(glue)
    glue.start_activity(SLOW)
    refused = _canceled_by_worker(glue)
    assert refused.events == [] and refused.reply is not None
    assert refused.reply.status_code == Code.INVALID_ARGUMENT
    assert refused.reply.message == (
        "unable to mark activity as canceled without activity being request canceled first"
    )


def test_a_requested_activity_is_not_retried() -> None:
    glue = Glue()
    poll = two_activities(glue, retry_policy={"initial_interval": {"seconds": 1}})
    glue.start_activity(SLOW)
    cancel(glue, poll)
    failed = glue.fail_activity(SLOW, app_failure())
    assert types(failed)[:2] == ["ACTIVITY_TASK_STARTED", "ACTIVITY_TASK_FAILED"]
    attrs = failed.events[1].activity_task_failed_event_attributes
    assert attrs.retry_state == RetryState.RETRY_STATE_CANCEL_REQUESTED


def test_a_requested_activity_that_times_out_is_not_retried() -> None:
    glue = Glue()
    poll = two_activities(glue)
    glue.start_activity(SLOW)
    cancel(glue, poll)
    timed_out = glue.fire(DeadlineKind.ACTIVITY_START_TO_CLOSE.value)
    attrs = timed_out.events[1].activity_task_timed_out_event_attributes
    assert attrs.retry_state == RetryState.RETRY_STATE_CANCEL_REQUESTED


def test_a_requested_activity_may_still_complete() -> None:
    glue = Glue()
    poll = two_activities(glue)
    glue.start_activity(SLOW)
    cancel(glue, poll)
    done = glue.complete_activity(SLOW, payloads(b"anyway"))
    assert types(done) == [
        "ACTIVITY_TASK_STARTED",
        "ACTIVITY_TASK_COMPLETED",
        "WORKFLOW_TASK_SCHEDULED",
    ]


def test_cancel_during_a_retry_backoff_cancels_at_once() -> None:
    glue = Glue()
    poll = two_activities(glue, retry_policy={"initial_interval": {"seconds": 30}})
    glue.start_activity(SLOW)
    glue.fail_activity(SLOW, app_failure())
    assert glue.state is not None and glue.state.activities[SLOW].awaiting_retry
    decision = cancel(glue, poll)
    assert "ACTIVITY_TASK_CANCELED" in types(decision)
    assert not [d for d in deadlines(glue.state) if d.kind == "activity_retry"]


def _failed_cause(decision: Decision) -> tuple[int, str]:
    (failed,) = [e for e in decision.events if e.HasField("workflow_task_failed_event_attributes")]
    attrs = failed.workflow_task_failed_event_attributes
    return attrs.cause, attrs.failure.message


def test_cancel_of_an_unknown_activity_fails_the_workflow_task() -> None:
    glue = Glue()
    poll = two_activities(glue)
    bad = glue.complete_workflow_task(poll, cancel_activity(42))
    assert bad.reply is not None and bad.reply.status_code == Code.INVALID_ARGUMENT
    cause = (
        WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES
    )
    assert _failed_cause(bad) == (
        cause,
        "BadRequestCancelActivityAttributes: invalid history builder state for action: "
        "add-activitytask-cancel-requested-event, ScheduledEventID: 42",
    )


def test_second_cancel_and_missing_id_fail_the_workflow_task() -> None:
    glue = Glue()
    poll = two_activities(glue)
    glue.start_activity(SLOW)
    cancel(glue, poll, force_create_new_workflow_task=True)
    again = glue.complete_workflow_task(
        ok_payload(glue.poll_workflow_task(), PollWorkflowTaskQueueResponse), cancel_activity(SLOW)
    )
    assert "ScheduledEventID: 5" in _failed_cause(again)[1]
    glue = Glue()
    poll = two_activities(glue)
    missing = glue.complete_workflow_task(poll, cancel_activity(0))
    assert _failed_cause(missing)[1] == (
        "BadRequestCancelActivityAttributes: ScheduledEventId is not set on "
        "RequestCancelActivityTaskCommand."
    )


def test_cancel_of_an_activity_whose_close_is_buffered_is_recorded() -> None:
    glue = Glue()
    poll = two_activities(glue)
    glue.start_activity(SLOW)
    glue.complete_activity(SLOW)  # buffered: the workflow task is started
    decision = cancel(glue, poll)
    assert types(decision) == [
        "WORKFLOW_TASK_COMPLETED",
        "ACTIVITY_TASK_CANCEL_REQUESTED",
        "ACTIVITY_TASK_STARTED",
        "ACTIVITY_TASK_COMPLETED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    assert glue.restore() == glue.state
