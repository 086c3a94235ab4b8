"""The *ById activity RPCs, RespondActivityTaskCanceled and the task-queue RPCs: validation
first, then routing to history or matching with Temporal's size rules."""

from __future__ import annotations

import grpc
from temporalio.api.common.v1 import Payload, Payloads, WorkflowExecution
from temporalio.api.enums.v1 import DescribeTaskQueueMode, TaskQueueKind, TaskQueueType
from temporalio.api.failure.v1 import Failure
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeTaskQueueRequest,
    GetWorkflowExecutionHistoryReverseRequest,
    GetWorkflowExecutionHistoryReverseResponse,
    RecordActivityTaskHeartbeatByIdRequest,
    RecordActivityTaskHeartbeatResponse,
    ResetStickyTaskQueueRequest,
    RespondActivityTaskCanceledByIdRequest,
    RespondActivityTaskCanceledRequest,
    RespondActivityTaskCompletedByIdRequest,
    RespondActivityTaskFailedByIdRequest,
    ShutdownWorkerRequest,
)

from frontend.rpc.respond_activity_task_failed_by_id import truncate_failure
from schemas.namespaces import default_namespace
from tests.unit.frontend.bad_requests import start
from tests.unit.frontend.conftest import TEST_CONFIG, Frontend
from tests.unit.frontend.fakes import encode_token, ok
from tests.unit.frontend.helpers import failure

DEFAULT_ID = default_namespace("strom").id
TOKEN = encode_token(DEFAULT_ID, "wf-7", "3f1a0e36-77c9-4b38-8f5b-0d7a2c1e9a10")
TOO_BIG = Payloads(payloads=[Payload(data=b"x" * (TEST_CONFIG.blob_size_limit_error + 1))])


def _by_id(**kw: object) -> dict[str, object]:
    return {"namespace": "default", "workflow_id": "wf-7", "activity_id": "1", **kw}


async def _with_workflow(frontend: Frontend) -> None:
    """Starts wf-7 in the fake history, which answers NOT_FOUND for unknown workflows."""
    await frontend.stub.StartWorkflowExecution(start(workflow_id="wf-7"))


async def test_by_id_rpcs_go_to_the_workflows_history_under_their_own_kind(
    frontend: Frontend,
) -> None:
    calls = {
        "RespondActivityTaskCompletedById": RespondActivityTaskCompletedByIdRequest(**_by_id()),
        "RespondActivityTaskFailedById": RespondActivityTaskFailedByIdRequest(**_by_id()),
        "RespondActivityTaskCanceledById": RespondActivityTaskCanceledByIdRequest(**_by_id()),
        "RecordActivityTaskHeartbeatById": RecordActivityTaskHeartbeatByIdRequest(**_by_id()),
    }
    for rpc, request in calls.items():
        frontend.history.replies[rpc] = ok(RecordActivityTaskHeartbeatResponse())
        await getattr(frontend.stub, rpc)(request)
        sent = frontend.history.sent[-1]
        assert (sent.namespace, sent.workflow_id, sent.kind) == ("default", "wf-7", rpc)
        assert sent.request == request


async def test_heartbeat_by_id_passes_the_cancel_request_on(frontend: Frontend) -> None:
    frontend.history.replies["RecordActivityTaskHeartbeatById"] = ok(
        RecordActivityTaskHeartbeatResponse(cancel_requested=True)
    )
    response = await frontend.stub.RecordActivityTaskHeartbeatById(
        RecordActivityTaskHeartbeatByIdRequest(**_by_id())
    )
    assert response.cancel_requested is True


async def test_by_id_validation_in_temporals_order(frontend: Frontend) -> None:
    rpc = "RespondActivityTaskCompletedById"
    cases = [
        (_by_id(namespace="nope"), grpc.StatusCode.NOT_FOUND, "Namespace nope is not found."),
        (_by_id(activity_id="", identity="i" * 1001), grpc.StatusCode.INVALID_ARGUMENT,
         "ActivityId is not set on request."),
        (_by_id(identity="i" * 1001), grpc.StatusCode.INVALID_ARGUMENT,
         "Identity length exceeds limit."),
        (_by_id(workflow_id=""), grpc.StatusCode.NOT_FOUND, "activity not found for ID: 1"),
    ]  # fmt: skip
    for fields, code, message in cases:
        status = await failure(
            frontend.stub, rpc, RespondActivityTaskCompletedByIdRequest(**fields)
        )
        assert (status.code, status.message) == (code, message)
    assert frontend.history.sent == []


async def test_oversized_payloads_by_id_fail_the_activity(frontend: Frontend) -> None:
    await _with_workflow(frontend)
    await frontend.stub.RespondActivityTaskCompletedById(
        RespondActivityTaskCompletedByIdRequest(**_by_id(result=TOO_BIG))
    )
    sent = frontend.history.sent[-1]
    assert sent.kind == "RespondActivityTaskFailedById"
    failed = sent.request
    assert isinstance(failed, RespondActivityTaskFailedByIdRequest)
    assert failed.failure.message == "Complete result exceeds size limit."
    assert failed.failure.server_failure_info.non_retryable
    response = await frontend.stub.RecordActivityTaskHeartbeatById(
        RecordActivityTaskHeartbeatByIdRequest(**_by_id(details=TOO_BIG))
    )
    assert response.cancel_requested is True
    assert frontend.history.sent[-1].kind == "RespondActivityTaskFailedById"


async def test_failed_by_id_reports_what_it_replaced(frontend: Frontend) -> None:
    await _with_workflow(frontend)
    big_failure = Failure(message="m" * (TEST_CONFIG.blob_size_limit_error + 1))
    big_failure.application_failure_info.type = "Huge"
    response = await frontend.stub.RespondActivityTaskFailedById(
        RespondActivityTaskFailedByIdRequest(
            **_by_id(failure=big_failure, last_heartbeat_details=TOO_BIG)
        )
    )
    assert [f.message for f in response.failures] == [
        "Heartbeat details exceed size limit.",
        "Failure exceeds size limit.",
    ]
    sent = frontend.history.sent[-1].request
    assert isinstance(sent, RespondActivityTaskFailedByIdRequest)
    assert not sent.HasField("last_heartbeat_details")
    assert sent.failure.message == "Failure exceeds size limit."
    assert sent.failure.cause.application_failure_info.type == "Huge"
    assert len(sent.failure.cause.message) < 600 * 1024


def test_truncate_failure_keeps_the_chain_within_the_budget() -> None:
    chain = Failure(message="a" * 50, cause=Failure(message="b" * 50, stack_trace="s" * 50))
    cut = truncate_failure(chain, 70)
    assert cut.message == "a" * 50
    assert cut.cause.message == "b" * 12  # 70 - 50 - 4 overhead - 4 for the cause
    assert cut.cause.stack_trace == ""


async def test_canceled_routes_by_token_and_oversized_details_fail(frontend: Frontend) -> None:
    await _with_workflow(frontend)
    await frontend.stub.RespondActivityTaskCanceled(
        RespondActivityTaskCanceledRequest(task_token=TOKEN, identity="w")
    )
    sent = frontend.history.sent[-1]
    assert (sent.workflow_id, sent.kind) == ("wf-7", "RespondActivityTaskCanceled")
    await frontend.stub.RespondActivityTaskCanceled(
        RespondActivityTaskCanceledRequest(task_token=TOKEN, details=TOO_BIG)
    )
    sent = frontend.history.sent[-1]
    assert sent.kind == "RespondActivityTaskFailed"
    assert sent.request.failure.message == "Cancel details exceed size limit."  # type: ignore[attr-defined]


async def test_reset_sticky_validates_the_execution(frontend: Frontend) -> None:
    await _with_workflow(frontend)
    status = await failure(
        frontend.stub, "ResetStickyTaskQueue", ResetStickyTaskQueueRequest(namespace="default")
    )
    assert (status.code, status.message) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "Execution is not set on request.",
    )
    request = ResetStickyTaskQueueRequest(
        namespace="default", execution=WorkflowExecution(workflow_id="wf-7")
    )
    await frontend.stub.ResetStickyTaskQueue(request)
    assert frontend.history.sent[-1].kind == "ResetStickyTaskQueue"


async def test_reverse_history_page_size_is_bounded(frontend: Frontend) -> None:
    frontend.history.replies["GetWorkflowExecutionHistoryReverse"] = ok(
        GetWorkflowExecutionHistoryReverseResponse()
    )
    for asked, sent_size in ((0, 256), (10_000, 256), (7, 7)):
        await frontend.stub.GetWorkflowExecutionHistoryReverse(
            GetWorkflowExecutionHistoryReverseRequest(
                namespace="default",
                execution=WorkflowExecution(workflow_id="wf-7"),
                maximum_page_size=asked,
            )
        )
        sent = frontend.history.sent[-1].request
        assert sent.maximum_page_size == sent_size  # type: ignore[attr-defined]


async def test_describe_task_queue_defaults_and_refusals(frontend: Frontend) -> None:
    response = await frontend.stub.DescribeTaskQueue(
        DescribeTaskQueueRequest(namespace="default", task_queue=TaskQueue(name="orders"))
    )
    assert [p.identity for p in response.pollers] == ["fake-poller"]
    (asked,) = frontend.matching.described
    assert asked.task_queue_type == TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW
    assert asked.task_queue.kind == TaskQueueKind.TASK_QUEUE_KIND_NORMAL
    refused = [
        (DescribeTaskQueueRequest(namespace="default"), "taskQueue is not set"),
        (
            DescribeTaskQueueRequest(namespace="default", task_queue=TaskQueue(name="")),
            "missing task queue name",
        ),
        (
            DescribeTaskQueueRequest(
                namespace="default", task_queue=TaskQueue(name="/_sys/orders/2"), report_stats=True
            ),
            "DescribeTaskQueue stats are only supported for the root partition",
        ),
    ]
    for request, message in refused:
        status = await failure(frontend.stub, "DescribeTaskQueue", request)
        assert (status.code, status.message) == (grpc.StatusCode.INVALID_ARGUMENT, message)
    enhanced = DescribeTaskQueueRequest(
        namespace="default",
        task_queue=TaskQueue(name="orders"),
        api_mode=DescribeTaskQueueMode.DESCRIBE_TASK_QUEUE_MODE_ENHANCED,
    )
    status = await failure(frontend.stub, "DescribeTaskQueue", enhanced)
    assert status.code == grpc.StatusCode.UNIMPLEMENTED
    assert len(frontend.matching.described) == 1


async def test_shutdown_worker_unloads_the_sticky_queue(frontend: Frontend) -> None:
    request = ShutdownWorkerRequest(namespace="default", sticky_task_queue="host-1-sticky")
    await frontend.stub.ShutdownWorker(request)
    assert [r.sticky_task_queue for r in frontend.matching.shutdowns] == ["host-1-sticky"]
