"""Events that arrive while a workflow task is started wait in a buffer (Temporal's rule)."""

from __future__ import annotations

from temporalio.api.enums.v1 import TaskQueueKind, WorkflowTaskFailedCause
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueResponse,
    RespondWorkflowTaskCompletedResponse,
    TerminateWorkflowExecutionRequest,
)

from history_processor.updates import UpdateKind
from schemas.reply import Code
from tests.unit.history.harness import (
    Glue,
    complete_workflow,
    first_task,
    ok_payload,
    payloads,
    schedule_activity,
    sticky,
    types,
)


def _two_activities_and_a_started_task(glue: Glue) -> PollWorkflowTaskQueueResponse:
    """Activities 5 and 6 scheduled; 5 completed; workflow task 10 started on sticky."""
    poll = first_task(glue)
    glue.complete_workflow_task(
        poll, schedule_activity("a"), schedule_activity("b"), sticky_attributes=sticky()
    )
    glue.start_activity(5)
    assert types(glue.complete_activity(5)) == [
        "ACTIVITY_TASK_STARTED",
        "ACTIVITY_TASK_COMPLETED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    poll = ok_payload(glue.poll_workflow_task(request_id="poll-2"), PollWorkflowTaskQueueResponse)
    assert glue.events[-1].event_id == 10
    return poll


def test_completion_during_a_started_task_is_buffered_then_flushed() -> None:
    glue = Glue()
    poll = _two_activities_and_a_started_task(glue)
    glue.start_activity(6)
    buffered = glue.complete_activity(6)
    assert buffered.events == [] and buffered.tasks == []
    assert [kind for kind, _ in buffered.updates] == [UpdateKind.BUFFER_EVENT.value] * 2
    assert glue.state is not None and len(glue.state.buffered_events) == 2
    assert 6 not in glue.state.activities  # its effect on state is immediate

    done = glue.complete_workflow_task(
        poll, schedule_activity("c"), sticky_attributes=sticky(), return_new_workflow_task=True
    )
    # Completed, the commands' events, the buffered events, then the new task (started inline).
    assert types(done) == [
        "WORKFLOW_TASK_COMPLETED",
        "ACTIVITY_TASK_SCHEDULED",
        "ACTIVITY_TASK_STARTED",
        "ACTIVITY_TASK_COMPLETED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
    ]
    assert [e.event_id for e in done.events] == [11, 12, 13, 14, 15, 16]
    completed = done.events[3].activity_task_completed_event_attributes
    assert (completed.scheduled_event_id, completed.started_event_id) == (6, 13)
    assert done.events[2].activity_task_started_event_attributes.request_id == "act-6-1"
    scheduled = done.events[4].workflow_task_scheduled_event_attributes
    assert (
        scheduled.task_queue.kind == TaskQueueKind.TASK_QUEUE_KIND_STICKY and scheduled.attempt == 1
    )
    # The new task went to the worker in the reply, not through matching.
    assert [t["task_kind"] for t in done.tasks] == ["activity"]
    new_task = ok_payload(done, RespondWorkflowTaskCompletedResponse).workflow_task
    assert new_task.started_event_id == 16 and new_task.previous_started_event_id == 10
    assert [e.event_id for e in new_task.history.events] == [11, 12, 13, 14, 15, 16]
    assert glue.state is not None and glue.state.buffered_events == []
    assert glue.restore() == glue.state


def test_two_buffered_activities_reorder() -> None:
    glue = Glue()
    poll = first_task(glue)
    glue.complete_workflow_task(
        poll,
        schedule_activity("a"),
        schedule_activity("b"),
        schedule_activity("c"),
        sticky_attributes=sticky(),
    )
    glue.complete_activity(5)  # 8 started, 9 completed, 10 workflow task scheduled
    poll = ok_payload(glue.poll_workflow_task(request_id="poll-2"), PollWorkflowTaskQueueResponse)
    glue.complete_activity(6)
    glue.complete_activity(7)
    done = glue.complete_workflow_task(poll, sticky_attributes=sticky())
    assert types(done) == [
        "WORKFLOW_TASK_COMPLETED",
        "ACTIVITY_TASK_STARTED",
        "ACTIVITY_TASK_STARTED",
        "ACTIVITY_TASK_COMPLETED",
        "ACTIVITY_TASK_COMPLETED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    started = [
        e.activity_task_started_event_attributes.scheduled_event_id for e in done.events[1:3]
    ]
    closed = [
        (
            e.activity_task_completed_event_attributes.scheduled_event_id,
            e.activity_task_completed_event_attributes.started_event_id,
        )
        for e in done.events[3:5]
    ]
    assert started == [6, 7]
    assert closed == [(6, 13), (7, 14)]
    assert glue.restore() == glue.state


def test_closing_with_buffered_events_fails_the_task_unhandled_command() -> None:
    glue = Glue()
    poll = _two_activities_and_a_started_task(glue)
    glue.complete_activity(6)
    decision = glue.complete_workflow_task(poll, complete_workflow(), sticky_attributes=sticky())
    reply = decision.reply
    assert reply is not None and (reply.status_code, reply.message) == (
        Code.INVALID_ARGUMENT,
        "UnhandledCommand",
    )
    assert types(decision) == [
        "WORKFLOW_TASK_FAILED",
        "ACTIVITY_TASK_STARTED",
        "ACTIVITY_TASK_COMPLETED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    failed = decision.events[0].workflow_task_failed_event_attributes
    assert failed.cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND
    assert failed.failure.message == "UnhandledCommand" and failed.failure.HasField(
        "server_failure_info"
    )
    # Failing on the sticky queue: stickiness is dropped, the attempt stays 1.
    scheduled = decision.events[3].workflow_task_scheduled_event_attributes
    assert (
        scheduled.task_queue.kind == TaskQueueKind.TASK_QUEUE_KIND_NORMAL and scheduled.attempt == 1
    )
    assert glue.state is not None and glue.state.is_running
    assert glue.restore() == glue.state


def test_terminate_fails_the_started_task_and_flushes_the_buffer() -> None:
    glue = Glue()
    _two_activities_and_a_started_task(glue)
    glue.complete_activity(6)
    decision = glue.submit(
        "TerminateWorkflowExecution",
        TerminateWorkflowExecutionRequest(reason="stop", identity="admin", details=payloads(b"x")),
    )
    assert types(decision) == [
        "WORKFLOW_TASK_FAILED",
        "ACTIVITY_TASK_STARTED",
        "ACTIVITY_TASK_COMPLETED",
        "WORKFLOW_EXECUTION_TERMINATED",
    ]
    failed = decision.events[0].workflow_task_failed_event_attributes
    assert failed.cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND
    assert failed.identity == "history-service"
    terminated = decision.events[3].workflow_execution_terminated_event_attributes
    assert (terminated.reason, terminated.identity) == ("stop", "admin")
    assert terminated.details.payloads[0].data == b"x"
    assert decision.visibility is not None and decision.visibility["status"] == "Terminated"
    assert glue.restore() == glue.state
