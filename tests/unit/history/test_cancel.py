"""Workflow cancellation: the request (CancelRequested) and the workflow's answer (Canceled)."""

from __future__ import annotations

import uuid
from typing import Any

from google.protobuf.duration_pb2 import Duration
from temporalio.api.command.v1 import Command as WorkflowCommand
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import CommandType, WorkflowTaskFailedCause
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    DescribeWorkflowExecutionResponse,
    PollWorkflowTaskQueueResponse,
    RequestCancelWorkflowExecutionRequest,
    RequestCancelWorkflowExecutionResponse,
    SignalWorkflowExecutionRequest,
)

from history_processor.deadlines import DeadlineKind, deadlines
from history_processor.model import Decision
from history_processor.state import WorkflowStatus
from schemas.reply import Code
from tests.unit.history.harness import (
    Glue,
    complete_workflow,
    first_task,
    ok_payload,
    payloads,
    sticky,
    types,
)


def request_cancel(glue: Glue, **kw: Any) -> Decision:
    run_id = kw.pop("run_id", "")
    request = RequestCancelWorkflowExecutionRequest(
        workflow_execution=WorkflowExecution(workflow_id=glue.workflow_id, run_id=run_id),
        request_id=kw.pop("request_id", str(uuid.uuid4())),
        **kw,
    )
    return glue.submit("RequestCancelWorkflowExecution", request)


def cancel_workflow(details: bytes | None = None) -> WorkflowCommand:
    """The CancelWorkflowExecution command an SDK sends when its workflow was cancelled."""
    command = WorkflowCommand(command_type=CommandType.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION)
    command.cancel_workflow_execution_command_attributes.SetInParent()
    if details is not None:
        command.cancel_workflow_execution_command_attributes.details.CopyFrom(payloads(details))
    return command


def _idle(glue: Glue) -> None:
    poll = first_task(glue)
    glue.complete_workflow_task(poll, sticky_attributes=sticky())


def test_cancel_request_schedules_a_workflow_task() -> None:
    glue = Glue()
    _idle(glue)
    decision = request_cancel(glue, identity="canceller", reason="no longer needed")
    assert types(decision) == ["WORKFLOW_EXECUTION_CANCEL_REQUESTED", "WORKFLOW_TASK_SCHEDULED"]
    attrs = decision.events[0].workflow_execution_cancel_requested_event_attributes
    assert (attrs.cause, attrs.identity) == ("no longer needed", "canceller")
    assert attrs.external_initiated_event_id == 0 and not attrs.HasField(
        "external_workflow_execution"
    )
    assert [t["task_kind"] for t in decision.tasks] == ["workflow"]
    ok_payload(decision, RequestCancelWorkflowExecutionResponse)
    assert glue.state is not None and glue.state.cancel_requested
    assert glue.restore() == glue.state


def test_repeated_cancel_requests_write_nothing() -> None:
    glue = Glue()
    _idle(glue)
    request_cancel(glue, request_id="c-1")
    for request_id in ("c-1", "c-2"):
        again = request_cancel(glue, request_id=request_id)
        assert again.events == [] and again.updates == []
        ok_payload(again, RequestCancelWorkflowExecutionResponse)


def test_cancel_during_a_started_task_is_buffered_once() -> None:
    glue = Glue()
    poll = first_task(glue)
    first = request_cancel(glue)
    second = request_cancel(glue)
    assert first.events == [] and len(first.updates) == 1
    assert second.updates == []
    done = glue.complete_workflow_task(poll, sticky_attributes=sticky())
    assert types(done) == [
        "WORKFLOW_TASK_COMPLETED",
        "WORKFLOW_EXECUTION_CANCEL_REQUESTED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    assert glue.state is not None and glue.state.cancel_requested


def test_the_workflow_cancels_itself_with_details() -> None:
    glue = Glue()
    _idle(glue)
    request_cancel(glue)
    poll = glue.poll_workflow_task(request_id="poll-2")
    decision = glue.complete_workflow_task(
        ok_payload(poll, PollWorkflowTaskQueueResponse), cancel_workflow(b"cleaned up")
    )
    assert types(decision) == ["WORKFLOW_TASK_COMPLETED", "WORKFLOW_EXECUTION_CANCELED"]
    canceled = decision.events[1].workflow_execution_canceled_event_attributes
    assert canceled.details.payloads[0].data == b"cleaned up"
    assert canceled.workflow_task_completed_event_id == decision.events[0].event_id
    assert glue.state is not None and glue.state.status is WorkflowStatus.CANCELED
    visibility = decision.visibility
    assert visibility is not None and visibility["status"] == "Canceled"
    assert visibility["close_time_ms"] == glue.now_ms
    assert deadlines(glue.state) == []
    assert glue.restore() == glue.state


def test_a_workflow_that_catches_the_cancel_may_complete() -> None:
    glue = Glue()
    poll = first_task(glue)
    request_cancel(glue)
    glue.complete_workflow_task(poll, sticky_attributes=sticky())
    poll = ok_payload(glue.poll_workflow_task(request_id="poll-2"), PollWorkflowTaskQueueResponse)
    done = glue.complete_workflow_task(poll, complete_workflow(payloads(b"caught")))
    assert types(done) == ["WORKFLOW_TASK_COMPLETED", "WORKFLOW_EXECUTION_COMPLETED"]
    assert glue.state is not None and glue.state.status is WorkflowStatus.COMPLETED


def test_cancel_command_with_unseen_events_fails_the_task() -> None:
    glue = Glue()
    poll = first_task(glue)
    glue.submit(
        "SignalWorkflowExecution",
        SignalWorkflowExecutionRequest(
            workflow_execution=WorkflowExecution(workflow_id=glue.workflow_id), signal_name="s"
        ),
    )
    failed = glue.complete_workflow_task(poll, cancel_workflow())
    assert types(failed) == [
        "WORKFLOW_TASK_FAILED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    cause = failed.events[0].workflow_task_failed_event_attributes.cause
    assert cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND


def test_cancel_command_without_attributes_is_a_bad_command() -> None:
    glue = Glue()
    poll = first_task(glue)
    bare = WorkflowCommand(command_type=CommandType.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION)
    failed = glue.complete_workflow_task(poll, bare)
    assert failed.reply is not None and failed.reply.status_code == Code.INVALID_ARGUMENT
    assert failed.reply.message == (
        "BadCancelWorkflowExecutionAttributes: CancelWorkflowExecutionCommandAttributes is not "
        "set on CancelWorkflowExecutionCommand."
    )
    cause = failed.events[0].workflow_task_failed_event_attributes.cause
    assert cause == (
        WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_WORKFLOW_EXECUTION_ATTRIBUTES
    )


def test_cancel_of_a_closed_workflow_is_a_quiet_success() -> None:
    glue = Glue()
    poll = first_task(glue)
    glue.complete_workflow_task(poll, complete_workflow())
    decision = request_cancel(glue)
    assert decision.events == [] and decision.reply is not None and decision.reply.ok


def test_cancel_of_an_unknown_workflow_or_run_is_not_found() -> None:
    glue = Glue()
    missing = request_cancel(glue)
    assert missing.reply is not None and missing.reply.status_code == Code.NOT_FOUND
    assert missing.reply.message == "workflow not found for ID: wf-1"
    glue.start()
    other = str(uuid.uuid4())
    wrong_run = request_cancel(glue, run_id=other)
    assert wrong_run.reply is not None and wrong_run.reply.message == (
        f'workflow execution not found for workflow ID "wf-1" and run ID "{other}"'
    )
    wrong_chain = request_cancel(glue, first_execution_run_id=other)
    assert wrong_chain.reply is not None and wrong_chain.reply.status_code == Code.NOT_FOUND
    assert wrong_chain.reply.message == "workflow execution not found"
    assert glue.state is not None
    # The chain's first run id names the current run, whatever run id comes with it.
    right_chain = request_cancel(
        glue, first_execution_run_id=glue.state.first_execution_run_id, run_id=other
    )
    assert types(right_chain) == ["WORKFLOW_EXECUTION_CANCEL_REQUESTED"]


def test_cancel_cuts_a_start_delay_short() -> None:
    glue = Glue()
    glue.start(workflow_start_delay=Duration(seconds=30))
    decision = request_cancel(glue)
    assert types(decision) == ["WORKFLOW_EXECUTION_CANCEL_REQUESTED", "WORKFLOW_TASK_SCHEDULED"]
    assert [t["task_kind"] for t in decision.tasks] == ["workflow"]
    assert all(
        d.kind != DeadlineKind.FIRST_WORKFLOW_TASK_BACKOFF.value for d in deadlines(glue.state)
    )


def test_describe_tells_a_cancel_was_requested() -> None:
    glue = Glue()
    _idle(glue)
    before = ok_payload(
        glue.submit("DescribeWorkflowExecution", DescribeWorkflowExecutionRequest()),
        DescribeWorkflowExecutionResponse,
    )
    assert not before.workflow_extended_info.cancel_requested
    request_cancel(glue)
    after = ok_payload(
        glue.submit("DescribeWorkflowExecution", DescribeWorkflowExecutionRequest()),
        DescribeWorkflowExecutionResponse,
    )
    assert after.workflow_extended_info.cancel_requested
