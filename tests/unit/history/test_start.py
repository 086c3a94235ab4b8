"""StartWorkflowExecution: events, outbox, idempotency by request id, id reuse and conflicts."""

from __future__ import annotations

from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.enums.v1 import (
    TaskQueueKind,
    WorkflowExecutionStatus,
    WorkflowIdConflictPolicy,
    WorkflowIdReusePolicy,
)
from temporalio.api.errordetails.v1 import WorkflowExecutionAlreadyStartedFailure
from temporalio.api.failure.v1 import Failure
from temporalio.api.workflowservice.v1 import (
    StartWorkflowExecutionResponse,
    TerminateWorkflowExecutionRequest,
)

from history_processor.deadlines import DeadlineKind, deadlines
from schemas import tokens
from schemas.reply import Code
from tests.unit.history.harness import NAMESPACE_ID, START_MS, Glue, ok_payload, types


def test_start_writes_started_and_first_workflow_task() -> None:
    glue = Glue()
    decision = glue.start(request_id="req-1")
    assert types(decision) == ["WORKFLOW_EXECUTION_STARTED", "WORKFLOW_TASK_SCHEDULED"]
    assert [e.event_id for e in decision.events] == [1, 2]
    started = decision.events[0].workflow_execution_started_event_attributes
    assert started.workflow_type.name == "OneActivityWorkflow"
    assert started.task_queue.name == "golden"
    assert started.task_queue.kind == TaskQueueKind.TASK_QUEUE_KIND_NORMAL
    assert started.original_execution_run_id == started.first_execution_run_id == "run-0001"
    assert started.attempt == 1 and started.identity == "tester"
    assert started.workflow_id == "wf-1"
    assert started.workflow_task_timeout.ToMilliseconds() == 10_000
    assert started.HasField("first_workflow_task_backoff")
    assert not started.HasField("workflow_run_timeout")
    scheduled = decision.events[1].workflow_task_scheduled_event_attributes
    assert scheduled.attempt == 1 and scheduled.start_to_close_timeout.ToMilliseconds() == 10_000
    assert scheduled.task_queue.name == "golden"

    reply = decision.reply
    assert reply is not None and reply.ok
    response = ok_payload(reply, StartWorkflowExecutionResponse)
    assert response.run_id == "run-0001" and response.started

    (task,) = decision.tasks
    assert task["task_kind"] == "workflow" and task["task_queue_kind"] == "normal"
    assert (task["scheduled_event_id"], task["attempt"], task["run_id"]) == (2, 1, "run-0001")
    assert task["task_queue_partition"] in range(4)
    token = tokens.decode(task["task_token"])
    assert (token.namespace_id, token.workflow_id, token.scheduled_event_id) == (
        NAMESPACE_ID,
        "wf-1",
        2,
    )

    visibility = decision.visibility
    assert visibility is not None
    assert visibility["status"] == "Running" and visibility["run_id"] == "run-0001"
    assert visibility["close_time_ms"] is None and visibility["version"] == 3
    assert visibility["start_time_ms"] == glue.now_ms


def test_same_request_id_returns_the_same_run() -> None:
    glue = Glue()
    glue.start(request_id="req-1")
    again = glue.start(request_id="req-1")
    assert again.events == [] and again.updates == [] and again.tasks == []
    assert again.reply is not None and again.reply.ok
    assert ok_payload(again, StartWorkflowExecutionResponse).run_id == "run-0001"


def test_running_workflow_with_another_request_id_is_already_started() -> None:
    glue = Glue()
    glue.start(request_id="req-1")
    other = glue.start(request_id="req-2")
    assert other.events == []
    reply = other.reply
    assert reply is not None and reply.status_code == Code.ALREADY_EXISTS
    assert (
        reply.message == "Workflow execution is already running. WorkflowId: wf-1, RunId: run-0001."
    )
    assert reply.details_type == WorkflowExecutionAlreadyStartedFailure.DESCRIPTOR.full_name
    details = WorkflowExecutionAlreadyStartedFailure.FromString(reply.details)
    assert (details.start_request_id, details.run_id) == ("req-1", "run-0001")


def test_use_existing_conflict_policy() -> None:
    glue = Glue()
    glue.start(request_id="req-1")
    reply = glue.start(
        request_id="req-2",
        workflow_id_conflict_policy=WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
    ).reply
    assert reply is not None and reply.ok
    response = ok_payload(reply, StartWorkflowExecutionResponse)
    assert response.run_id == "run-0001" and not response.started


def _terminate(glue: Glue) -> None:
    glue.submit("TerminateWorkflowExecution", TerminateWorkflowExecutionRequest(reason="r"))


def test_closed_workflow_id_can_be_reused_by_default() -> None:
    glue = Glue()
    glue.start(request_id="req-1")
    _terminate(glue)
    decision = glue.start(request_id="req-2")
    assert types(decision) == ["WORKFLOW_EXECUTION_STARTED", "WORKFLOW_TASK_SCHEDULED"]
    assert [e.event_id for e in decision.events] == [1, 2]
    assert glue.state is not None and glue.state.run_id == "run-0002"
    assert ok_payload(decision, StartWorkflowExecutionResponse).run_id == "run-0002"
    # A retry of the first start is answered with the run it created only while it is current.
    assert (
        ok_payload(glue.start(request_id="req-2"), StartWorkflowExecutionResponse).run_id
        == "run-0002"
    )


def test_reuse_policies_on_a_closed_run() -> None:
    glue = Glue()
    glue.start(request_id="req-1")
    _terminate(glue)
    reject = glue.start(
        request_id="req-2",
        workflow_id_reuse_policy=WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
    ).reply
    assert reject is not None and reject.status_code == Code.ALREADY_EXISTS
    failed_only = glue.start(
        request_id="req-3",
        workflow_id_reuse_policy=WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
    )
    # Terminated counts as failed.
    assert failed_only.reply is not None and failed_only.reply.ok and failed_only.events


def test_validation() -> None:
    glue = Glue()
    reply = glue.start(request_id="").reply
    assert reply is not None and (reply.status_code, reply.message) == (
        Code.INVALID_ARGUMENT,
        "Missing request ID.",
    )
    reply = glue.start(workflow_type="").reply
    assert reply is not None and reply.message == "Missing WorkflowType."
    assert glue.state is None


def test_timeouts_are_defaulted_like_temporal() -> None:
    glue = Glue()
    decision = glue.start(
        workflow_execution_timeout={"seconds": 60}, workflow_task_timeout={"seconds": 500}
    )
    attrs = decision.events[0].workflow_execution_started_event_attributes
    assert attrs.workflow_run_timeout.seconds == 60  # run timeout defaults to execution timeout
    assert attrs.workflow_task_timeout.seconds == 60  # capped at 120s, then at the run timeout
    assert attrs.workflow_execution_expiration_time.ToMilliseconds() == glue.now_ms + 60_000
    (deadline,) = [
        d for d in deadlines(glue.state) if d.kind == DeadlineKind.WORKFLOW_RUN_TIMEOUT.value
    ]
    assert deadline.fire_at_ms == glue.now_ms + 60_000


def test_start_delay_schedules_the_first_task_later() -> None:
    glue = Glue()
    decision = glue.start(workflow_start_delay={"seconds": 30})
    assert types(decision) == ["WORKFLOW_EXECUTION_STARTED"] and decision.tasks == []
    deadline = glue.deadline(DeadlineKind.FIRST_WORKFLOW_TASK_BACKOFF.value)
    assert deadline.fire_at_ms == START_MS + 5 + 30_000
    fired = glue.fire(DeadlineKind.FIRST_WORKFLOW_TASK_BACKOFF.value)
    assert types(fired) == ["WORKFLOW_TASK_SCHEDULED"] and len(fired.tasks) == 1
    assert not [
        d for d in deadlines(glue.state) if d.kind == DeadlineKind.FIRST_WORKFLOW_TASK_BACKOFF.value
    ]


def test_status_in_reply_of_a_retried_start_after_close() -> None:
    glue = Glue()
    glue.start(request_id="req-1")
    _terminate(glue)
    reply = glue.start(request_id="req-1").reply
    assert reply is not None and reply.ok
    status = ok_payload(reply, StartWorkflowExecutionResponse).status
    assert status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED


def test_a_start_carries_the_last_completion_result_and_continued_failure() -> None:
    # The scheduler starts each action with the previous one's outcome, as Temporal's does.
    glue = Glue()
    last = Payloads(payloads=[Payload(data=b'"previous"')])
    glue.start(last_completion_result=last, continued_failure=Failure(message="before"))
    attrs = glue.events[0].workflow_execution_started_event_attributes
    assert attrs.last_completion_result == last
    assert attrs.continued_failure.message == "before"
