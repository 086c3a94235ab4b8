"""SignalWorkflowExecution, SignalWithStartWorkflowExecution and RequestCancelWorkflowExecution
through the raw stub: validation with the answers the Temporal dev server (1.32) gave to the
same requests, Temporal's defaults, and what reaches history."""

from __future__ import annotations

import dataclasses

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload, Payloads, RetryPolicy, WorkflowExecution
from temporalio.api.common.v1 import WorkflowType as WfType
from temporalio.api.enums.v1 import (
    TaskQueueKind,
    WorkflowIdConflictPolicy,
    WorkflowIdReusePolicy,
)
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    RequestCancelWorkflowExecutionRequest,
    SignalWithStartWorkflowExecutionRequest,
    SignalWorkflowExecutionRequest,
)

from schemas.reply import Reply
from tests.unit.frontend.bad_requests import start
from tests.unit.frontend.conftest import TEST_CONFIG, Frontend, StartFrontend
from tests.unit.frontend.helpers import failure

_NEG = Duration(seconds=-1)
_BLOB_LIMIT = 100
_BIG = Payloads(payloads=[Payload(data=b"x" * (_BLOB_LIMIT + 1))])


def signal(**fields: object) -> SignalWorkflowExecutionRequest:
    values: dict[str, object] = {
        "namespace": "default",
        "workflow_execution": WorkflowExecution(workflow_id="wf"),
        "signal_name": "go",
        "request_id": "r1",
    }
    values.update(fields)
    return SignalWorkflowExecutionRequest(**values)  # type: ignore[arg-type]


def sws(**fields: object) -> SignalWithStartWorkflowExecutionRequest:
    values: dict[str, object] = {
        "namespace": "default",
        "workflow_id": "wf",
        "workflow_type": WfType(name="W"),
        "task_queue": TaskQueue(name="tq"),
        "signal_name": "go",
        "request_id": "r1",
    }
    values.update(fields)
    return SignalWithStartWorkflowExecutionRequest(**values)  # type: ignore[arg-type]


def cancel(**fields: object) -> RequestCancelWorkflowExecutionRequest:
    values: dict[str, object] = {
        "namespace": "default",
        "workflow_execution": WorkflowExecution(workflow_id="wf"),
    }
    values.update(fields)
    return RequestCancelWorkflowExecutionRequest(**values)  # type: ignore[arg-type]


_SIG, _SWS, _CANCEL = (
    "SignalWorkflowExecution",
    "SignalWithStartWorkflowExecution",
    "RequestCancelWorkflowExecution",
)
_REUSE, _CONFLICT = WorkflowIdReusePolicy, WorkflowIdConflictPolicy
_NS_NOT_FOUND = "temporal.api.errordetails.v1.NamespaceNotFoundFailure"

# (name, rpc, request, code, message, detail): what the dev server answered.
# fmt: off
BAD = [
    ("sig-no-ns", _SIG, signal(namespace=""), "INVALID_ARGUMENT", "Namespace is empty.", ""),
    ("sig-unknown-ns", _SIG, signal(namespace="nope"), "NOT_FOUND",
     "Namespace nope is not found.", _NS_NOT_FOUND),
    ("sig-no-exec", _SIG, SignalWorkflowExecutionRequest(namespace="default", signal_name="s"),
     "INVALID_ARGUMENT", "Execution is not set on request.", ""),
    ("sig-no-wid", _SIG, signal(workflow_execution=WorkflowExecution()), "INVALID_ARGUMENT",
     "WorkflowId is not set on request.", ""),
    ("sig-bad-run", _SIG, signal(workflow_execution=WorkflowExecution(workflow_id="w", run_id="x")),
     "INVALID_ARGUMENT", "Invalid RunId.", ""),
    ("sig-no-name", _SIG, signal(signal_name=""), "INVALID_ARGUMENT",
     "SignalName is not set on request.", ""),
    ("sig-long-name", _SIG, signal(signal_name="n" * 1001), "INVALID_ARGUMENT",
     "SignalName length exceeds limit.", ""),
    ("sig-long-request-id", _SIG, signal(request_id="r" * 1001), "INVALID_ARGUMENT",
     "RequestId length exceeds limit.", ""),
    ("sig-big-input", _SIG, signal(input=_BIG), "INVALID_ARGUMENT",
     "Blob data size exceeds limit.", ""),
    ("sws-no-ns", _SWS, sws(namespace=""), "INVALID_ARGUMENT", "Namespace is empty.", ""),
    ("sws-deprecated-ns", _SWS, sws(namespace="old"), "FAILED_PRECONDITION",
     "Namespace has invalid state: Deprecated. Must be Registered.",
     "temporal.api.errordetails.v1.NamespaceInvalidStateFailure"),
    ("sws-no-wid", _SWS, sws(workflow_id=""), "INVALID_ARGUMENT",
     "WorkflowId is not set on request.", ""),
    ("sws-long-wid", _SWS, sws(workflow_id="w" * 1001), "INVALID_ARGUMENT",
     "WorkflowId exceeds maximum allowed length (1001/1000)", ""),
    ("sws-no-signal", _SWS, sws(signal_name=""), "INVALID_ARGUMENT", "signal not set", ""),
    ("sws-long-signal", _SWS, sws(signal_name="s" * 1001), "INVALID_ARGUMENT",
     "signal name exceeds maximum allowed length (1001/1000)", ""),
    ("sws-no-type", _SWS, sws(workflow_type=WfType()), "INVALID_ARGUMENT",
     "workflow type not set", ""),
    ("sws-long-type", _SWS, sws(workflow_type=WfType(name="t" * 1001)), "INVALID_ARGUMENT",
     "workflow type name exceeds maximum allowed length (1001/1000)", ""),
    ("sws-no-tq", _SWS, sws(task_queue=None), "INVALID_ARGUMENT", "taskQueue is not set", ""),
    ("sws-empty-tq", _SWS, sws(task_queue=TaskQueue()), "INVALID_ARGUMENT",
     "missing task queue name", ""),
    ("sws-long-tq", _SWS, sws(task_queue=TaskQueue(name="q" * 1001)), "INVALID_ARGUMENT",
     "taskQueue length exceeds limit", ""),
    ("sws-reserved-tq", _SWS, sws(task_queue=TaskQueue(name="/_sys/x")), "INVALID_ARGUMENT",
     "task queue name cannot start with reserved prefix /_sys/", ""),
    ("sws-long-request-id", _SWS, sws(request_id="r" * 1001), "INVALID_ARGUMENT",
     "Request ID exceeds maximum allowed length (1001/1000)", ""),
    ("sws-neg-exec-timeout", _SWS, sws(workflow_execution_timeout=_NEG), "INVALID_ARGUMENT",
     "An invalid WorkflowExecutionTimeoutSeconds is set on request. cause: negative duration", ""),
    ("sws-neg-run-timeout", _SWS, sws(workflow_run_timeout=_NEG), "INVALID_ARGUMENT",
     "An invalid WorkflowRunTimeoutSeconds is set on request. cause: negative duration", ""),
    ("sws-neg-task-timeout", _SWS, sws(workflow_task_timeout=_NEG), "INVALID_ARGUMENT",
     "An invalid WorkflowTaskTimeoutSeconds is set on request. cause: negative duration", ""),
    ("sws-bad-retry", _SWS, sws(retry_policy=RetryPolicy(backoff_coefficient=0.5)),
     "INVALID_ARGUMENT", "BackoffCoefficient cannot be less than 1 on retry policy.", ""),
    ("sws-cron-and-delay", _SWS,
     sws(cron_schedule="* * * * *", workflow_start_delay=Duration(seconds=1)),
     "INVALID_ARGUMENT", "CronSchedule and WorkflowStartDelay may not be used together.", ""),
    ("sws-neg-delay", _SWS, sws(workflow_start_delay=_NEG), "INVALID_ARGUMENT",
     "An invalid WorkflowStartDelaySeconds is set on request. cause: negative duration", ""),
    ("sws-terminate-if-running-and-conflict", _SWS,
     sws(workflow_id_reuse_policy=_REUSE.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING,
         workflow_id_conflict_policy=_CONFLICT.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING),
     "INVALID_ARGUMENT", "Invalid WorkflowIDReusePolicy: WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_"
     "RUNNING cannot be used together with a WorkflowIDConflictPolicy", ""),
    ("sws-reject-and-terminate", _SWS,
     sws(workflow_id_reuse_policy=_REUSE.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
         workflow_id_conflict_policy=_CONFLICT.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING),
     "INVALID_ARGUMENT", "Invalid WorkflowIDReusePolicy: WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE "
     "cannot be used together with WorkflowIdConflictPolicy "
     "WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING", ""),
    ("sws-conflict-fail", _SWS,
     sws(workflow_id_conflict_policy=_CONFLICT.WORKFLOW_ID_CONFLICT_POLICY_FAIL),
     "INVALID_ARGUMENT", "Invalid WorkflowIDConflictPolicy: WORKFLOW_ID_CONFLICT_POLICY_FAIL is "
     "not supported for this operation.", ""),
    ("sws-big-signal-input", _SWS, sws(signal_input=_BIG), "INVALID_ARGUMENT",
     "Blob data size exceeds limit.", ""),
    ("sws-big-input", _SWS, sws(input=_BIG), "INVALID_ARGUMENT",
     "Blob data size exceeds limit.", ""),
    ("cancel-no-ns", _CANCEL, cancel(namespace=""), "INVALID_ARGUMENT", "Namespace is empty.", ""),
    ("cancel-no-exec", _CANCEL, RequestCancelWorkflowExecutionRequest(namespace="default"),
     "INVALID_ARGUMENT", "Execution is not set on request.", ""),
    ("cancel-no-wid", _CANCEL, cancel(workflow_execution=WorkflowExecution()), "INVALID_ARGUMENT",
     "WorkflowId is not set on request.", ""),
    ("cancel-bad-run", _CANCEL,
     cancel(workflow_execution=WorkflowExecution(workflow_id="w", run_id="x")),
     "INVALID_ARGUMENT", "Invalid RunId.", ""),
]
# fmt: on


@pytest.fixture
async def small_blobs(start_frontend: StartFrontend) -> Frontend:
    """A frontend whose blob limit is small enough to exceed in a test."""
    return await start_frontend(dataclasses.replace(TEST_CONFIG, blob_size_limit_error=_BLOB_LIMIT))


@pytest.fixture
async def running(frontend: Frontend) -> Frontend:
    """A frontend whose fake history has a run of workflow "wf"."""
    await frontend.stub.StartWorkflowExecution(start(workflow_id="wf"))
    return frontend


@pytest.fixture
async def answering(frontend: Frontend) -> Frontend:
    """A frontend whose fake history answers signal-with-start and cancel with success."""
    frontend.history.replies[_SWS] = Reply()
    frontend.history.replies[_CANCEL] = Reply()
    return frontend


@pytest.mark.parametrize(
    ("name", "rpc", "request_", "code", "message", "detail"), BAD, ids=[b[0] for b in BAD]
)
async def test_bad_request_gets_temporals_status(
    small_blobs: Frontend,
    name: str,
    rpc: str,
    request_: Message,
    code: str,
    message: str,
    detail: str,
) -> None:
    status = await failure(small_blobs.stub, rpc, request_)

    assert (status.code.name, status.message, status.detail_type) == (code, message, detail)
    assert small_blobs.history.sent == []


async def test_signal_reaches_history_as_sent(running: Frontend) -> None:
    request = signal(identity="me", input=Payloads(payloads=[Payload(data=b"1")]))

    await running.stub.SignalWorkflowExecution(request)

    sent = running.history.sent[-1]
    assert (sent.namespace, sent.workflow_id, sent.kind) == ("default", "wf", _SIG)
    assert sent.request == request


async def test_signal_without_request_id_is_passed_on_without_one(running: Frontend) -> None:
    # Temporal does not make one up: such a signal is not deduplicated.
    await running.stub.SignalWorkflowExecution(signal(request_id=""))

    forwarded = running.history.sent[-1].request
    assert isinstance(forwarded, SignalWorkflowExecutionRequest) and forwarded.request_id == ""


async def test_history_not_found_reaches_the_caller(frontend: Frontend) -> None:
    status = await failure(frontend.stub, _SIG, signal())

    assert status.code == grpc.StatusCode.NOT_FOUND
    assert status.message == "workflow not found for ID: wf"


async def test_signal_with_start_fills_temporals_defaults(answering: Frontend) -> None:
    await answering.stub.SignalWithStartWorkflowExecution(sws(request_id=""))

    sent = answering.history.sent[-1]
    forwarded = sent.request
    assert isinstance(forwarded, SignalWithStartWorkflowExecutionRequest)
    assert (sent.kind, sent.workflow_id) == (_SWS, "wf")
    assert len(forwarded.request_id) == 36
    # Signal-with-start signals a running workflow unless told otherwise.
    assert forwarded.workflow_id_conflict_policy == (
        _CONFLICT.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
    )
    assert forwarded.workflow_id_reuse_policy == _REUSE.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
    assert forwarded.task_queue.kind == TaskQueueKind.TASK_QUEUE_KIND_NORMAL


async def test_signal_with_start_migrates_terminate_if_running(answering: Frontend) -> None:
    request = sws(workflow_id_reuse_policy=_REUSE.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING)

    await answering.stub.SignalWithStartWorkflowExecution(request)

    forwarded = answering.history.sent[-1].request
    assert isinstance(forwarded, SignalWithStartWorkflowExecutionRequest)
    assert forwarded.workflow_id_conflict_policy == (
        _CONFLICT.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING
    )
    assert forwarded.workflow_id_reuse_policy == _REUSE.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE


async def test_signal_with_start_retry_policy_gets_defaults(answering: Frontend) -> None:
    await answering.stub.SignalWithStartWorkflowExecution(sws(retry_policy=RetryPolicy()))

    forwarded = answering.history.sent[-1].request
    assert isinstance(forwarded, SignalWithStartWorkflowExecutionRequest)
    assert forwarded.retry_policy.initial_interval.seconds == 1
    assert forwarded.retry_policy.backoff_coefficient == 2.0


async def test_signal_with_start_cron_goes_to_history(answering: Frontend) -> None:
    await answering.stub.SignalWithStartWorkflowExecution(sws(cron_schedule="* * * * *"))

    forwarded = answering.history.sent[-1].request
    assert isinstance(forwarded, SignalWithStartWorkflowExecutionRequest)
    assert forwarded.cron_schedule == "* * * * *"


async def test_cancel_checks_nothing_but_the_execution(running: Frontend) -> None:
    # The dev server accepts overlong request ids, identities and reasons here.
    request = cancel(request_id="r" * 1001, identity="i" * 1001, reason="x" * 5000)

    await running.stub.RequestCancelWorkflowExecution(request)

    sent = running.history.sent[-1]
    assert (sent.kind, sent.workflow_id, sent.request) == (_CANCEL, "wf", request)


async def test_cancel_in_a_deprecated_namespace_is_allowed(answering: Frontend) -> None:
    await answering.stub.RequestCancelWorkflowExecution(cancel(namespace="old"))

    assert answering.history.sent[-1].namespace == "old"
