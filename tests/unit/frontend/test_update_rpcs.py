"""UpdateWorkflowExecution and PollWorkflowExecutionUpdate through the raw stub: Temporal's
validation (service/frontend/workflow_handler.go), its defaults, what reaches history, and how
a wait that ends early is answered."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import UpdateWorkflowExecutionLifecycleStage as Stage
from temporalio.api.errordetails.v1 import MultiOperationExecutionFailure
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.update.v1 import Input, Meta, Request, UpdateRef, WaitPolicy
from temporalio.api.workflowservice.v1 import (
    ExecuteMultiOperationRequest,
    ExecuteMultiOperationResponse,
    PollWorkflowExecutionUpdateRequest,
    PollWorkflowExecutionUpdateResponse,
    StartWorkflowExecutionRequest,
    StartWorkflowExecutionResponse,
    UpdateWorkflowExecutionRequest,
    UpdateWorkflowExecutionResponse,
)

from schemas.inbox import PollWorkflowUpdate, UpdateWithStart, UpdateWorkflow
from schemas.reply import Code, Reply
from tests.unit.frontend.conftest import Frontend
from tests.unit.frontend.fakes import ok
from tests.unit.frontend.helpers import failure

_UPDATE, _POLL = "UpdateWorkflowExecution", "PollWorkflowExecutionUpdate"
_MULTI = "ExecuteMultiOperation"
ADMITTED = Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED
ACCEPTED = Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED
COMPLETED = Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED


def update(**fields: object) -> UpdateWorkflowExecutionRequest:
    values: dict[str, object] = {
        "namespace": "default",
        "workflow_execution": WorkflowExecution(workflow_id="wf"),
        "request": Request(meta=Meta(update_id="u1"), input=Input(name="set")),
    }
    values.update(fields)
    return UpdateWorkflowExecutionRequest(**values)  # type: ignore[arg-type]


# (name, request, code, message): Temporal's frontend checks, in its order.
BAD = [
    ("no-ns", update(namespace=""), grpc.StatusCode.INVALID_ARGUMENT, "Namespace is empty."),
    (
        "no-exec",
        UpdateWorkflowExecutionRequest(namespace="default"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "Execution is not set on request.",
    ),
    (
        "no-meta",
        update(request=Request(input=Input(name="set"))),
        grpc.StatusCode.INVALID_ARGUMENT,
        "Update meta is not set on request.",
    ),
    (
        "long-id",
        update(request=Request(meta=Meta(update_id="u" * 1001), input=Input(name="set"))),
        grpc.StatusCode.INVALID_ARGUMENT,
        "UpdateId length exceeds limit.",
    ),
    (
        "no-input",
        update(request=Request(meta=Meta(update_id="u1"))),
        grpc.StatusCode.INVALID_ARGUMENT,
        "Update input is not set on request.",
    ),
    (
        "no-name",
        update(request=Request(meta=Meta(update_id="u1"), input=Input())),
        grpc.StatusCode.INVALID_ARGUMENT,
        "Update name is not set on request.",
    ),
    (
        "admitted",
        update(wait_policy=WaitPolicy(lifecycle_stage=ADMITTED)),
        grpc.StatusCode.PERMISSION_DENIED,
        "UpdateWorkflowExecution issued asynchronously and waiting on update admitted is not "
        "supported.",
    ),
]


@pytest.mark.parametrize(("name", "request_", "code", "message"), BAD, ids=[b[0] for b in BAD])
async def test_bad_update_gets_temporals_status(
    frontend: Frontend,
    name: str,
    request_: UpdateWorkflowExecutionRequest,
    code: grpc.StatusCode,
    message: str,
) -> None:
    status = await failure(frontend.stub, _UPDATE, request_)
    assert (status.code, status.message) == (code, message)
    assert frontend.history.sent == []


async def test_update_defaults_reach_history(frontend: Frontend) -> None:
    answer = UpdateWorkflowExecutionResponse(stage=COMPLETED)
    frontend.history.replies[_UPDATE] = ok(answer)
    request = update(request=Request(meta=Meta(), input=Input(name="set")))
    response = await frontend.stub.UpdateWorkflowExecution(request, timeout=10)
    assert response.stage == COMPLETED
    sent = frontend.history.sent[-1]
    assert sent.kind == _UPDATE
    message = sent.request
    assert isinstance(message, UpdateWorkflow)
    forwarded = message.update_request()
    # Temporal fills a missing update id with a UUID and waits for COMPLETED by default.
    assert len(forwarded.request.meta.update_id) == 36
    assert forwarded.wait_policy.lifecycle_stage == COMPLETED
    assert message.deadline_ms > 0


async def test_wait_lost_in_history_answers_admitted(frontend: Frontend) -> None:
    # History forgot the caller (restart): the caller learns the update is only admitted and
    # sends it again, as after Temporal's long-poll interval.
    frontend.history.scripts[_UPDATE] = [TimeoutError()]
    response = await frontend.stub.UpdateWorkflowExecution(update(), timeout=30)
    assert response.stage == ADMITTED
    assert response.update_ref.update_id == "u1"
    assert response.update_ref.workflow_execution.workflow_id == "wf"


async def test_client_deadline_before_the_stage_is_deadline_exceeded(frontend: Frontend) -> None:
    frontend.history.replies[_UPDATE] = ok(UpdateWorkflowExecutionResponse(stage=ADMITTED))
    status = await failure(frontend.stub, _UPDATE, update(), timeout=3)
    assert status.code == grpc.StatusCode.DEADLINE_EXCEEDED
    message = frontend.history.sent[-1].request
    assert isinstance(message, UpdateWorkflow)
    # History was told to give up before the client does.
    assert frontend.history.sent[-1].timeout < 3 + 5.0


async def test_wait_lost_in_history_ends_before_the_client_deadline(frontend: Frontend) -> None:
    # History forgot the caller and the client's deadline comes before the long-poll
    # interval: the frontend gives up first, so the client gets Temporal's status and not
    # its own timeout.
    frontend.history.scripts[_UPDATE] = [TimeoutError()]
    status = await failure(frontend.stub, _UPDATE, update(), timeout=3)
    assert status.code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert status.message == "context deadline exceeded"
    assert frontend.history.sent[-1].timeout < 3


async def test_poll_forwards_and_checks_the_ref(frontend: Frontend) -> None:
    status = await failure(
        frontend.stub, _POLL, PollWorkflowExecutionUpdateRequest(namespace="default")
    )
    assert (status.code, status.message) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "UpdateRef is not set on request.",
    )
    answer = PollWorkflowExecutionUpdateResponse(stage=ACCEPTED)
    frontend.history.replies[_POLL] = ok(answer)
    ref = UpdateRef(workflow_execution=WorkflowExecution(workflow_id="wf"), update_id="u1")
    request = PollWorkflowExecutionUpdateRequest(
        namespace="default", update_ref=ref, wait_policy=WaitPolicy(lifecycle_stage=ACCEPTED)
    )
    response = await frontend.stub.PollWorkflowExecutionUpdate(request, timeout=10)
    assert response.stage == ACCEPTED
    sent = frontend.history.sent[-1]
    assert sent.kind == _POLL and sent.workflow_id == "wf"
    assert isinstance(sent.request, PollWorkflowUpdate)
    assert sent.request.poll_request().update_ref.update_id == "u1"


def _multi(start_fields: dict[str, object], update_: UpdateWorkflowExecutionRequest) -> Any:
    start_values: dict[str, object] = {
        "workflow_id": "wf",
        "workflow_type": WorkflowType(name="W"),
        "task_queue": TaskQueue(name="tq"),
        "request_id": "r",
    }
    start_values.update(start_fields)
    operation = ExecuteMultiOperationRequest.Operation
    return ExecuteMultiOperationRequest(
        namespace="default",
        operations=[
            operation(start_workflow=StartWorkflowExecutionRequest(**start_values)),  # type: ignore[arg-type]
            operation(update_workflow=update_),
        ],
    )


def _statuses(status: Any) -> list[tuple[int, str]]:
    failure = MultiOperationExecutionFailure()
    assert status.details is not None and status.details.details[0].Unpack(failure)
    return [(s.code, s.message) for s in failure.statuses]


async def test_update_with_start_errors_have_temporals_shape(frontend: Frontend) -> None:
    # What the dev server answered to the same requests.
    aborted = (grpc.StatusCode.ABORTED.value[0], "Operation was aborted.")
    invalid = grpc.StatusCode.INVALID_ARGUMENT.value[0]
    mismatch = _multi({}, update(workflow_execution=WorkflowExecution(workflow_id="other")))
    status = await failure(frontend.stub, "ExecuteMultiOperation", mismatch)
    assert (status.code, status.message) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "Update-with-Start could not be executed.",
    )
    assert _statuses(status) == [
        aborted,
        (invalid, "WorkflowId is not consistent with previous operation(s)."),
    ]
    cron = _multi({"cron_schedule": "* * * * *"}, update())
    status = await failure(frontend.stub, "ExecuteMultiOperation", cron)
    assert _statuses(status) == [(invalid, "CronSchedule is not allowed."), aborted]
    one = ExecuteMultiOperationRequest(namespace="default", operations=[cron.operations[0]])
    status = await failure(frontend.stub, "ExecuteMultiOperation", one)
    assert (status.code, status.message) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "Operations have to be exactly [Start, Update].",
    )
    assert frontend.history.sent == []


async def test_update_with_start_is_one_command_to_history(frontend: Frontend) -> None:
    started = StartWorkflowExecutionResponse(run_id="r1", started=True)
    frontend.history.replies[_MULTI] = ok(
        ExecuteMultiOperationResponse(
            responses=[
                ExecuteMultiOperationResponse.Response(start_workflow=started),
                ExecuteMultiOperationResponse.Response(
                    update_workflow=UpdateWorkflowExecutionResponse(stage=COMPLETED)
                ),
            ]
        )
    )
    response = await frontend.stub.ExecuteMultiOperation(_multi({}, update()), timeout=10)
    first, second = response.responses
    assert first.start_workflow.run_id == "r1" and second.update_workflow.stage == COMPLETED
    assert [sent.kind for sent in frontend.history.sent] == [_MULTI]
    message = frontend.history.sent[0].request
    assert isinstance(message, UpdateWithStart)
    assert message.start_request().workflow_id == "wf"
    assert message.start_request().namespace == "default"
    # The frontend filled the update's defaults before sending it.
    assert message.update_request().wait_policy.lifecycle_stage == COMPLETED
    assert message.update_request().request.meta.update_id == "u1"


async def test_update_with_start_error_from_history_is_named_after_the_feature(
    frontend: Frontend,
) -> None:
    detail = MultiOperationExecutionFailure()
    detail.statuses.add(code=grpc.StatusCode.ALREADY_EXISTS.value[0], message="running")
    detail.statuses.add(code=grpc.StatusCode.ABORTED.value[0], message="Operation was aborted.")
    frontend.history.replies[_MULTI] = Reply.error(
        Code.ALREADY_EXISTS, "MultiOperation could not be executed.", detail
    )
    status = await failure(frontend.stub, "ExecuteMultiOperation", _multi({}, update()))
    assert (status.code, status.message) == (
        grpc.StatusCode.ALREADY_EXISTS,
        "Update-with-Start could not be executed.",
    )
    assert _statuses(status) == [
        (grpc.StatusCode.ALREADY_EXISTS.value[0], "running"),
        (grpc.StatusCode.ABORTED.value[0], "Operation was aborted."),
    ]


async def test_update_with_start_is_sent_again_when_history_forgot_it(frontend: Frontend) -> None:
    answered = ExecuteMultiOperationResponse(
        responses=[
            ExecuteMultiOperationResponse.Response(
                start_workflow=StartWorkflowExecutionResponse(run_id="r1")
            ),
            ExecuteMultiOperationResponse.Response(
                update_workflow=UpdateWorkflowExecutionResponse(stage=COMPLETED)
            ),
        ]
    )
    # A restarted history never answers the first send; the same request goes again.
    frontend.history.scripts[_MULTI] = [TimeoutError(), ok(answered)]
    # No client deadline: the wait is history's long-poll interval (the fake answers at once).
    response = await frontend.stub.ExecuteMultiOperation(_multi({}, update()), timeout=None)
    assert response == answered
    sent = [s.request for s in frontend.history.sent]
    assert len(sent) == 2 and isinstance(sent[0], UpdateWithStart)
    assert isinstance(sent[1], UpdateWithStart) and sent[1].start == sent[0].start
    # History that never answers: Temporal's retryable status, after a few sends.
    frontend.history.sent.clear()
    frontend.history.scripts[_MULTI] = [TimeoutError()] * 3
    status = await failure(frontend.stub, "ExecuteMultiOperation", _multi({}, update()), None)
    assert status.code == grpc.StatusCode.UNAVAILABLE
    assert _statuses(status)[1] == (
        grpc.StatusCode.UNAVAILABLE.value[0],
        "workflow update was aborted",
    )
    assert len(frontend.history.sent) == 3
