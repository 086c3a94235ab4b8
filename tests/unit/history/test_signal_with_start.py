"""SignalWithStart: a new run that begins with the signal, or a signal to the running run."""

from __future__ import annotations

from typing import Any

from google.protobuf.duration_pb2 import Duration
from temporalio.api.common.v1 import Header, Payload, WorkflowType
from temporalio.api.enums.v1 import (
    TaskQueueKind,
    WorkflowIdConflictPolicy,
    WorkflowIdReusePolicy,
)
from temporalio.api.errordetails.v1 import WorkflowExecutionAlreadyStartedFailure
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    SignalWithStartWorkflowExecutionRequest,
    SignalWithStartWorkflowExecutionResponse,
    TerminateWorkflowExecutionRequest,
)

from history_processor.model import Decision
from schemas.reply import Code
from tests.unit.history.harness import (
    NAMESPACE,
    Glue,
    complete_workflow,
    first_task,
    ok_payload,
    payloads,
    types,
)


def signal_with_start(glue: Glue, request_id: str = "sws-1", **kw: Any) -> Decision:
    fields: dict[str, Any] = {
        "namespace": NAMESPACE,
        "workflow_id": glue.workflow_id,
        "workflow_type": WorkflowType(name="Waiter"),
        "task_queue": TaskQueue(name="golden", kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
        "request_id": request_id,
        "identity": "starter",
        "signal_name": "go",
        "workflow_id_conflict_policy": (
            WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
        ),
        "workflow_id_reuse_policy": WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
        **kw,
    }
    request = SignalWithStartWorkflowExecutionRequest(**fields)
    return glue.submit("SignalWithStartWorkflowExecution", request)


def _response(decision: Decision) -> SignalWithStartWorkflowExecutionResponse:
    return ok_payload(decision, SignalWithStartWorkflowExecutionResponse)


def test_a_new_run_starts_with_the_signal() -> None:
    glue = Glue()
    header = Header(fields={"h": Payload(data=b"v")})
    decision = signal_with_start(
        glue, input=payloads(b"in"), signal_input=payloads(b"sig"), header=header
    )
    assert types(decision) == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    started = decision.events[0].workflow_execution_started_event_attributes
    assert started.input.payloads[0].data == b"in" and started.header == header
    assert started.workflow_type.name == "Waiter" and started.identity == "starter"
    signaled = decision.events[1].workflow_execution_signaled_event_attributes
    assert (signaled.signal_name, signaled.identity, signaled.request_id) == (
        "go",
        "starter",
        "sws-1",
    )
    assert signaled.input.payloads[0].data == b"sig" and signaled.header == header
    assert [t["task_kind"] for t in decision.tasks] == ["workflow"]
    assert decision.visibility is not None and decision.visibility["status"] == "Running"
    response = _response(decision)
    assert glue.state is not None and response.started
    assert response.run_id == glue.state.run_id == response.first_execution_run_id
    assert response.signal_link.workflow_event.request_id_ref.request_id == "sws-1"
    assert glue.state.start_request_id == "sws-1" and glue.state.signal_request_ids == ["sws-1"]
    assert glue.restore() == glue.state


def test_a_running_workflow_is_signalled_not_restarted() -> None:
    glue = Glue()
    glue.start(workflow_type="Waiter")
    assert glue.state is not None
    run_id = glue.state.run_id
    decision = signal_with_start(glue, request_id="sws-2", signal_input=payloads(b"x"))
    # The first workflow task is still scheduled: the signal joins it.
    assert types(decision) == ["WORKFLOW_EXECUTION_SIGNALED"]
    response = _response(decision)
    assert (response.run_id, response.started) == (run_id, False)
    assert response.first_execution_run_id == run_id
    assert decision.visibility is None


def test_a_signal_to_a_running_workflow_during_its_task_is_buffered() -> None:
    glue = Glue()
    poll = first_task(glue)
    decision = signal_with_start(glue, request_id="sws-3")
    assert decision.events == [] and decision.tasks == []
    assert not _response(decision).started
    done = glue.complete_workflow_task(poll)
    assert types(done) == [
        "WORKFLOW_TASK_COMPLETED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_SCHEDULED",
    ]


def test_a_retried_signal_with_start_signals_once() -> None:
    glue = Glue()
    signal_with_start(glue)
    again = signal_with_start(glue)
    assert again.events == [] and again.updates == []
    response = _response(again)
    assert glue.state is not None and response.run_id == glue.state.run_id
    assert not response.started


def test_a_start_delay_holds_back_a_new_runs_task_but_not_a_later_signal() -> None:
    glue = Glue()
    first = signal_with_start(glue, workflow_start_delay=Duration(seconds=30))
    assert types(first) == ["WORKFLOW_EXECUTION_STARTED", "WORKFLOW_EXECUTION_SIGNALED"]
    assert first.tasks == []
    # Temporal skips the delay when signal-with-start finds the run waiting for it.
    second = signal_with_start(glue, request_id="sws-4")
    assert types(second) == ["WORKFLOW_EXECUTION_SIGNALED", "WORKFLOW_TASK_SCHEDULED"]
    assert [t["task_kind"] for t in second.tasks] == ["workflow"]


def test_a_closed_workflow_is_replaced_as_the_reuse_policy_allows() -> None:
    glue = Glue()
    poll = first_task(glue)
    glue.complete_workflow_task(poll, complete_workflow())
    assert glue.state is not None
    old_run = glue.state.run_id
    rejected = signal_with_start(
        glue,
        request_id="sws-5",
        workflow_id_reuse_policy=WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
    )
    assert rejected.reply is not None and rejected.reply.status_code == Code.ALREADY_EXISTS
    assert (
        rejected.reply.details_type == WorkflowExecutionAlreadyStartedFailure.DESCRIPTOR.full_name
    )
    assert rejected.events == []
    failed_only = WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY
    refused = signal_with_start(glue, request_id="sws-6", workflow_id_reuse_policy=failed_only)
    assert refused.reply is not None and refused.reply.status_code == Code.ALREADY_EXISTS
    restarted = signal_with_start(glue, request_id="sws-7")
    assert types(restarted)[:2] == ["WORKFLOW_EXECUTION_STARTED", "WORKFLOW_EXECUTION_SIGNALED"]
    response = _response(restarted)
    assert response.started and response.run_id != old_run
    assert glue.state.run_id == response.run_id and glue.state.signal_request_ids == ["sws-7"]


def test_a_terminated_workflow_may_restart_under_failed_only() -> None:
    glue = Glue()
    glue.start()
    glue.submit("TerminateWorkflowExecution", TerminateWorkflowExecutionRequest())
    failed_only = WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY
    decision = signal_with_start(glue, request_id="sws-8", workflow_id_reuse_policy=failed_only)
    assert _response(decision).started


def test_conflict_policies_that_replace_or_refuse_a_running_run() -> None:
    glue = Glue()
    glue.start()
    old_run = glue.state.run_id  # type: ignore[union-attr]
    terminate = signal_with_start(
        glue,
        request_id="sws-9",
        workflow_id_conflict_policy=(
            WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING
        ),
    )
    assert terminate.reply is not None and terminate.reply.ok
    # The running run is terminated and the new one starts with the signal, in one decision.
    (closed,) = terminate.closed_runs
    assert closed.state.run_id == old_run and types(closed.events)[-1] == (
        "WORKFLOW_EXECUTION_TERMINATED"
    )
    assert types(terminate.events)[:2] == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_EXECUTION_SIGNALED",
    ]
    assert glue.state is not None and glue.state.run_id != old_run and glue.state.is_running
    # FAIL never passes the frontend; history still answers like a start would.
    fail = signal_with_start(
        glue,
        request_id="sws-10",
        workflow_id_conflict_policy=WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
    )
    assert fail.reply is not None and fail.reply.status_code == Code.ALREADY_EXISTS
    assert fail.events == []


def test_history_rejects_a_request_without_request_id() -> None:
    glue = Glue()
    decision = signal_with_start(glue, request_id="")
    assert decision.reply is not None and decision.reply.status_code == Code.INVALID_ARGUMENT
    assert decision.reply.message == "Missing request ID." and glue.state is None
