"""Task-token RPCs: routing by the token, namespace checks, size limits."""

from __future__ import annotations

import dataclasses

import grpc
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.failure.v1 import ApplicationFailureInfo, Failure
from temporalio.api.workflowservice.v1 import (
    RecordActivityTaskHeartbeatRequest,
    RespondActivityTaskCompletedRequest,
    RespondActivityTaskFailedRequest,
    RespondWorkflowTaskCompletedRequest,
)

from schemas.namespaces import default_namespace
from tests.unit.frontend.bad_requests import start
from tests.unit.frontend.conftest import TEST_CONFIG, Frontend, StartFrontend
from tests.unit.frontend.fakes import encode_token
from tests.unit.frontend.helpers import failure

DEFAULT_ID = default_namespace("strom").id
TOKEN = encode_token(DEFAULT_ID, "wf-7", "3f1a0e36-77c9-4b38-8f5b-0d7a2c1e9a10")


async def test_token_routes_to_the_workflows_history(frontend: Frontend) -> None:
    await frontend.stub.StartWorkflowExecution(start(workflow_id="wf-7"))
    request = RespondWorkflowTaskCompletedRequest(task_token=TOKEN, identity="worker-1")

    await frontend.stub.RespondWorkflowTaskCompleted(request)

    sent = frontend.history.sent[-1]
    assert (sent.namespace, sent.workflow_id, sent.kind) == (
        "default",
        "wf-7",
        "RespondWorkflowTaskCompleted",
    )
    assert sent.request.namespace == "default"  # type: ignore[attr-defined]  # filled from token


async def test_stale_token_gets_histories_not_found(frontend: Frontend) -> None:
    request = RespondActivityTaskCompletedRequest(namespace="default", task_token=TOKEN)

    status = await failure(frontend.stub, "RespondActivityTaskCompleted", request)

    assert status.code == grpc.StatusCode.NOT_FOUND
    assert status.detail_type == "temporal.api.errordetails.v1.NotFoundFailure"


async def test_token_of_unknown_namespace_id(frontend: Frontend) -> None:
    token = encode_token("5e7b3f0e-0000-4000-8000-00000000abcd", "wf", "")
    request = RespondActivityTaskCompletedRequest(task_token=token)

    status = await failure(frontend.stub, "RespondActivityTaskCompleted", request)

    assert status.code == grpc.StatusCode.NOT_FOUND
    assert status.message == "Namespace 5e7b3f0e-0000-4000-8000-00000000abcd is not found."
    assert status.detail_type == "temporal.api.errordetails.v1.NamespaceNotFoundFailure"


async def test_token_from_another_namespace(frontend: Frontend) -> None:
    request = RespondActivityTaskCompletedRequest(namespace="old", task_token=TOKEN)

    status = await failure(frontend.stub, "RespondActivityTaskCompleted", request)

    assert (status.code, status.message) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "Operation requested with a token from a different namespace.",
    )


async def test_identity_checked_after_token(frontend: Frontend) -> None:
    request = RespondWorkflowTaskCompletedRequest(task_token=TOKEN, identity="i" * 1001)

    status = await failure(frontend.stub, "RespondWorkflowTaskCompleted", request)

    assert status.message == "Identity length exceeds limit."


async def test_activity_failure_must_be_an_application_failure(frontend: Frontend) -> None:
    request = RespondActivityTaskFailedRequest(task_token=TOKEN, failure=Failure(message="x"))

    status = await failure(frontend.stub, "RespondActivityTaskFailed", request)

    assert (status.code, status.message) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "Failure must have ApplicationFailureInfo.",
    )


async def test_activity_failure_with_application_info_is_forwarded(frontend: Frontend) -> None:
    await frontend.stub.StartWorkflowExecution(start(workflow_id="wf-7"))
    request = RespondActivityTaskFailedRequest(
        task_token=TOKEN,
        failure=Failure(message="x", application_failure_info=ApplicationFailureInfo()),
    )

    await frontend.stub.RespondActivityTaskFailed(request)

    assert frontend.history.sent[-1].kind == "RespondActivityTaskFailed"


async def test_oversized_result_fails_the_activity(start_frontend: StartFrontend) -> None:
    frontend = await start_frontend(dataclasses.replace(TEST_CONFIG, blob_size_limit_error=100))
    await frontend.stub.StartWorkflowExecution(start(workflow_id="wf-7"))
    big = Payloads(payloads=[Payload(data=b"x" * 200)])

    await frontend.stub.RespondActivityTaskCompleted(
        RespondActivityTaskCompletedRequest(task_token=TOKEN, result=big, identity="w")
    )

    sent = frontend.history.sent[-1]
    assert sent.kind == "RespondActivityTaskFailed"
    assert isinstance(sent.request, RespondActivityTaskFailedRequest)
    assert sent.request.failure.message == "Complete result exceeds size limit."
    assert sent.request.failure.server_failure_info.non_retryable
    assert sent.request.identity == "w"


async def test_oversized_heartbeat_cancels_the_activity(start_frontend: StartFrontend) -> None:
    frontend = await start_frontend(dataclasses.replace(TEST_CONFIG, blob_size_limit_error=100))
    await frontend.stub.StartWorkflowExecution(start(workflow_id="wf-7"))
    big = Payloads(payloads=[Payload(data=b"x" * 200)])

    response = await frontend.stub.RecordActivityTaskHeartbeat(
        RecordActivityTaskHeartbeatRequest(task_token=TOKEN, details=big)
    )

    assert response.cancel_requested
    sent = frontend.history.sent[-1]
    assert sent.kind == "RespondActivityTaskFailed"
    assert sent.request.failure.message == "Heartbeat details exceed size limit."  # type: ignore[attr-defined]
