"""UpdateWorkflowExecution and PollWorkflowExecutionUpdate through the raw stub: Temporal's
validation (service/frontend/workflow_handler.go), its defaults, what reaches history, and how
a wait that ends early is answered."""

from __future__ import annotations

import grpc
import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import UpdateWorkflowExecutionLifecycleStage as Stage
from temporalio.api.update.v1 import Input, Meta, Request, UpdateRef, WaitPolicy
from temporalio.api.workflowservice.v1 import (
    PollWorkflowExecutionUpdateRequest,
    PollWorkflowExecutionUpdateResponse,
    UpdateWorkflowExecutionRequest,
    UpdateWorkflowExecutionResponse,
)

from schemas.inbox import PollWorkflowUpdate, UpdateWorkflow
from tests.unit.frontend.conftest import Frontend
from tests.unit.frontend.fakes import ok
from tests.unit.frontend.helpers import failure

_UPDATE, _POLL = "UpdateWorkflowExecution", "PollWorkflowExecutionUpdate"
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
