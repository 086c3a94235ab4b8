"""StartWorkflowExecution, Describe, Terminate, List and Count through the raw stub."""

from __future__ import annotations

import asyncio
import dataclasses

import grpc
from temporalio.api.common.v1 import RetryPolicy, WorkflowExecution
from temporalio.api.enums.v1 import (
    TaskQueueKind,
    WorkflowIdConflictPolicy,
    WorkflowIdReusePolicy,
)
from temporalio.api.errordetails.v1 import NamespaceInvalidStateFailure
from temporalio.api.workflowservice.v1 import (
    CountWorkflowExecutionsRequest,
    DescribeWorkflowExecutionRequest,
    ListWorkflowExecutionsRequest,
    StartWorkflowExecutionRequest,
)

from schemas.reply import Reply
from tests.unit.frontend.bad_requests import start
from tests.unit.frontend.conftest import TEST_CONFIG, Frontend, StartFrontend
from tests.unit.frontend.helpers import failure


async def test_start_fills_temporals_defaults(frontend: Frontend) -> None:
    request = start(request_id="", request_eager_execution=True, retry_policy=RetryPolicy())

    response = await frontend.stub.StartWorkflowExecution(request, timeout=10)

    sent = frontend.history.sent[0]
    forwarded = sent.request
    assert isinstance(forwarded, StartWorkflowExecutionRequest)
    assert response.run_id == frontend.history.runs[("default", "bad-request-wf")].run_id
    assert len(forwarded.request_id) == 36  # a generated UUID
    assert forwarded.workflow_id_reuse_policy == (
        WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
    )
    assert forwarded.workflow_id_conflict_policy == (
        WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_FAIL
    )
    assert forwarded.task_queue.kind == TaskQueueKind.TASK_QUEUE_KIND_NORMAL
    assert forwarded.retry_policy.initial_interval.seconds == 1
    assert forwarded.retry_policy.maximum_interval.seconds == 100
    assert forwarded.retry_policy.backoff_coefficient == 2.0
    # Eager workflow start is served: the flag reaches history.
    assert forwarded.request_eager_execution
    # Bounded by the client's deadline; gRPC rounds the wire timeout up (to 100 ms steps here).
    assert 0 < sent.timeout <= 10.2


async def test_start_migrates_terminate_if_running(frontend: Frontend) -> None:
    request = start(
        workflow_id_reuse_policy=WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING
    )

    await frontend.stub.StartWorkflowExecution(request)

    forwarded = frontend.history.sent[0].request
    assert isinstance(forwarded, StartWorkflowExecutionRequest)
    assert forwarded.workflow_id_conflict_policy == (
        WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING
    )
    assert forwarded.workflow_id_reuse_policy == (
        WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
    )


async def test_start_in_deprecated_namespace_is_refused(frontend: Frontend) -> None:
    status = await failure(frontend.stub, "StartWorkflowExecution", start(namespace="old"))

    assert status.code == grpc.StatusCode.FAILED_PRECONDITION
    assert status.message == "Namespace has invalid state: Deprecated. Must be Registered."
    assert status.details is not None
    detail = NamespaceInvalidStateFailure()
    assert status.details.details[0].Unpack(detail)
    assert detail.namespace == "old"


async def test_deleted_namespace_serves_nothing(frontend: Frontend) -> None:
    request = DescribeWorkflowExecutionRequest(
        namespace="gone", execution=WorkflowExecution(workflow_id="x")
    )

    status = await failure(frontend.stub, "DescribeWorkflowExecution", request)

    assert status.code == grpc.StatusCode.FAILED_PRECONDITION
    assert status.message == (
        "Namespace has invalid state: Deleted. Must be Registered or Deprecated."
    )


async def test_cron_start_goes_to_history(frontend: Frontend) -> None:
    # History checks the schedule and delays the first run (history_processor/cron.py).
    await frontend.stub.StartWorkflowExecution(start(cron_schedule="* * * * *"))

    forwarded = frontend.history.sent[0].request
    assert isinstance(forwarded, StartWorkflowExecutionRequest)
    assert forwarded.cron_schedule == "* * * * *"


async def test_history_error_reply_becomes_status_with_details(frontend: Frontend) -> None:
    frontend.history.replies["StartWorkflowExecution"] = Reply(
        status_code=8,
        message="busy",
        details=b"",
        details_type="temporal.api.errordetails.v1.ResourceExhaustedFailure",
    )

    status = await failure(frontend.stub, "StartWorkflowExecution", start())

    assert (status.code, status.message) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "busy")
    assert status.detail_type == "temporal.api.errordetails.v1.ResourceExhaustedFailure"


async def test_history_timeout_is_unavailable(frontend: Frontend) -> None:
    async def no_answer(*args: object) -> Reply:
        raise TimeoutError

    frontend.history.call = no_answer  # type: ignore[method-assign,assignment]

    status = await failure(frontend.stub, "StartWorkflowExecution", start())

    assert status.code == grpc.StatusCode.UNAVAILABLE


async def test_backend_bug_is_internal(frontend: Frontend) -> None:
    async def broken(*args: object) -> Reply:
        raise KeyError("oops")

    frontend.history.call = broken  # type: ignore[method-assign,assignment]

    status = await failure(frontend.stub, "StartWorkflowExecution", start())

    assert status.code == grpc.StatusCode.INTERNAL
    assert "StartWorkflowExecution" in status.message


async def test_list_clamps_page_size(frontend: Frontend) -> None:
    await frontend.stub.ListWorkflowExecutions(
        ListWorkflowExecutionsRequest(namespace="default", page_size=5000)
    )
    await frontend.stub.ListWorkflowExecutions(
        ListWorkflowExecutionsRequest(namespace="default", page_size=7, next_page_token=b"t")
    )

    assert [call[2:] for call in frontend.visibility.calls] == [(1000, b""), (7, b"t")]


async def test_invalid_query_is_invalid_argument(frontend: Frontend) -> None:
    request = ListWorkflowExecutionsRequest(namespace="default", query="bad")

    status = await failure(frontend.stub, "ListWorkflowExecutions", request)

    assert (status.code, status.message) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "invalid query: malformed",
    )


async def test_slow_visibility_store_is_unavailable(start_frontend: StartFrontend) -> None:
    frontend = await start_frontend(dataclasses.replace(TEST_CONFIG, visibility_timeout_s=0.1))

    async def hang(*args: object) -> None:
        await asyncio.sleep(10)

    frontend.visibility.count = hang  # type: ignore[method-assign,assignment]
    request = CountWorkflowExecutionsRequest(namespace="default")

    status = await failure(frontend.stub, "CountWorkflowExecutions", request)

    assert status.code == grpc.StatusCode.UNAVAILABLE
