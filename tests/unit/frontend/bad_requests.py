"""Malformed requests and the status Temporal Server 1.32 (``temporal server start-dev``)
answered to each, recorded by sending them to a dev server with the raw gRPC stub."""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from temporalio.api.common.v1 import RetryPolicy, WorkflowExecution, WorkflowType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    DescribeTaskQueueRequest,
    DescribeWorkflowExecutionRequest,
    GetWorkflowExecutionHistoryRequest,
    GetWorkflowExecutionHistoryReverseRequest,
    PollActivityTaskQueueRequest,
    PollWorkflowTaskQueueRequest,
    RecordActivityTaskHeartbeatByIdRequest,
    RecordActivityTaskHeartbeatRequest,
    ResetStickyTaskQueueRequest,
    RespondActivityTaskCanceledByIdRequest,
    RespondActivityTaskCanceledRequest,
    RespondActivityTaskCompletedByIdRequest,
    RespondActivityTaskCompletedRequest,
    RespondActivityTaskFailedByIdRequest,
    RespondActivityTaskFailedRequest,
    RespondWorkflowTaskCompletedRequest,
    RespondWorkflowTaskFailedRequest,
    ShutdownWorkerRequest,
    StartWorkflowExecutionRequest,
    TerminateWorkflowExecutionRequest,
)

INVALID_ARGUMENT = "INVALID_ARGUMENT"
NOT_FOUND = "NOT_FOUND"
FAILED_PRECONDITION = "FAILED_PRECONDITION"
NAMESPACE_NOT_FOUND_FAILURE = "temporal.api.errordetails.v1.NamespaceNotFoundFailure"


@dataclass(frozen=True)
class BadRequest:
    """One request and the status expected for it."""

    name: str
    rpc: str
    request: Message
    code: str
    message: str
    detail: str = ""  # full name of the error detail, empty when none
    timeout: float | None = 10.0


def start(**fields: object) -> StartWorkflowExecutionRequest:
    """A valid start request with ``fields`` overriding."""
    values: dict[str, object] = {
        "namespace": "default",
        "workflow_id": "bad-request-wf",
        "workflow_type": WorkflowType(name="W"),
        "task_queue": TaskQueue(name="tq"),
        "request_id": "r1",
    }
    values.update(fields)
    return StartWorkflowExecutionRequest(**values)  # type: ignore[arg-type]


def _start_without(field: str) -> StartWorkflowExecutionRequest:
    request = start()
    request.ClearField(field)  # type: ignore[arg-type]
    return request


_NEG = Duration(seconds=-1)
_TIMEOUT_MSG = "An invalid {} is set on request. cause: negative duration"
_SWE = "StartWorkflowExecution"
_EXEC = WorkflowExecution

# A table reads best one case per block; the formatter would explode every argument.
# fmt: off
_GENERAL: tuple[BadRequest, ...] = (
    BadRequest("start-no-wid", _SWE, _start_without("workflow_id"), INVALID_ARGUMENT,
               "WorkflowId is not set on request."),
    BadRequest("start-unknown-ns", _SWE, start(namespace="nope", workflow_id=""), NOT_FOUND,
               "Namespace nope is not found.", NAMESPACE_NOT_FOUND_FAILURE),
    BadRequest("start-empty-ns", _SWE, start(namespace="", workflow_id=""), INVALID_ARGUMENT,
               "Namespace is empty."),
    BadRequest("start-long-ns", _SWE, start(namespace="n" * 1001), INVALID_ARGUMENT,
               "Namespace length exceeds limit."),
    BadRequest("start-long-wid", _SWE, start(workflow_id="x" * 1001), INVALID_ARGUMENT,
               "WorkflowId exceeds maximum allowed length (1001/1000)"),
    BadRequest("start-no-type", _SWE, _start_without("workflow_type"), INVALID_ARGUMENT,
               "WorkflowType is not set on request."),
    BadRequest("start-long-type", _SWE, start(workflow_type=WorkflowType(name="W" * 1001)),
               INVALID_ARGUMENT, "WorkflowType length exceeds limit."),
    BadRequest("start-no-tq", _SWE, _start_without("task_queue"), INVALID_ARGUMENT,
               "taskQueue is not set"),
    BadRequest("start-empty-tq", _SWE, start(task_queue=TaskQueue(name="")), INVALID_ARGUMENT,
               "missing task queue name"),
    BadRequest("start-long-tq", _SWE, start(task_queue=TaskQueue(name="t" * 1001)),
               INVALID_ARGUMENT, "taskQueue length exceeds limit"),
    BadRequest("start-reserved-tq", _SWE, start(task_queue=TaskQueue(name="/_sys/x")),
               INVALID_ARGUMENT, "task queue name cannot start with reserved prefix /_sys/"),
    BadRequest("start-long-request-id", _SWE, start(request_id="r" * 1001), INVALID_ARGUMENT,
               "RequestId length exceeds limit."),
    BadRequest("start-neg-exec-timeout", _SWE, start(workflow_execution_timeout=_NEG),
               INVALID_ARGUMENT, _TIMEOUT_MSG.format("WorkflowExecutionTimeoutSeconds")),
    BadRequest("start-neg-run-timeout", _SWE, start(workflow_run_timeout=_NEG),
               INVALID_ARGUMENT, _TIMEOUT_MSG.format("WorkflowRunTimeoutSeconds")),
    BadRequest("start-neg-task-timeout", _SWE, start(workflow_task_timeout=_NEG),
               INVALID_ARGUMENT, _TIMEOUT_MSG.format("WorkflowTaskTimeoutSeconds")),
    BadRequest("start-mixed-sign-timeout", _SWE,
               start(workflow_task_timeout=Duration(seconds=1, nanos=-1)), INVALID_ARGUMENT,
               "An invalid WorkflowTaskTimeoutSeconds is set on request. cause: duration has "
               "seconds and nanos with different signs"),
    BadRequest("start-neg-delay", _SWE, start(workflow_start_delay=_NEG), INVALID_ARGUMENT,
               "An invalid WorkflowStartDelaySeconds is set on request. cause: negative duration"),
    BadRequest("retry-backoff", _SWE, start(retry_policy=RetryPolicy(backoff_coefficient=0.5)),
               INVALID_ARGUMENT, "BackoffCoefficient cannot be less than 1 on retry policy."),
    BadRequest("retry-initial", _SWE, start(retry_policy=RetryPolicy(initial_interval=_NEG)),
               INVALID_ARGUMENT, "invalid InitialInterval set on retry policy: negative duration"),
    BadRequest("retry-max-below-initial", _SWE,
               start(retry_policy=RetryPolicy(initial_interval=Duration(seconds=10),
                                              maximum_interval=Duration(seconds=1))),
               INVALID_ARGUMENT,
               "MaximumInterval cannot be less than InitialInterval on retry policy."),
    BadRequest("retry-attempts", _SWE, start(retry_policy=RetryPolicy(maximum_attempts=-1)),
               INVALID_ARGUMENT, "MaximumAttempts cannot be negative on retry policy."),
    BadRequest("retry-timeout-type", _SWE,
               start(retry_policy=RetryPolicy(non_retryable_error_types=["TemporalTimeout:FOO"])),
               INVALID_ARGUMENT, "Invalid timeout type value: FOO."),
    BadRequest("start-id-policies", _SWE,
               start(workflow_id_reuse_policy=4, workflow_id_conflict_policy=1), INVALID_ARGUMENT,
               "Invalid WorkflowIDReusePolicy: WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING "
               "cannot be used together with a WorkflowIDConflictPolicy"),
    BadRequest("describe-ns-empty", "DescribeNamespace", DescribeNamespaceRequest(),
               INVALID_ARGUMENT, "Namespace not set on request."),
    BadRequest("describe-ns-unknown", "DescribeNamespace",
               DescribeNamespaceRequest(namespace="nope"), NOT_FOUND,
               "Namespace nope is not found.", NAMESPACE_NOT_FOUND_FAILURE),
    BadRequest("describe-ns-unknown-id", "DescribeNamespace",
               DescribeNamespaceRequest(id="01a2130e-57ea-7742-9708-efedaa5acc84"), NOT_FOUND,
               "Namespace 01a2130e-57ea-7742-9708-efedaa5acc84 is not found.",
               NAMESPACE_NOT_FOUND_FAILURE),
    BadRequest("describe-wf-unknown-ns", "DescribeWorkflowExecution",
               DescribeWorkflowExecutionRequest(namespace="nope"), NOT_FOUND,
               "Namespace nope is not found.", NAMESPACE_NOT_FOUND_FAILURE),
    BadRequest("describe-wf-empty-ns", "DescribeWorkflowExecution",
               DescribeWorkflowExecutionRequest(), INVALID_ARGUMENT, "Namespace is empty."),
    BadRequest("describe-wf-no-execution", "DescribeWorkflowExecution",
               DescribeWorkflowExecutionRequest(namespace="default"), INVALID_ARGUMENT,
               "Execution is not set on request."),
    BadRequest("describe-wf-no-wid", "DescribeWorkflowExecution",
               DescribeWorkflowExecutionRequest(namespace="default", execution=_EXEC()),
               INVALID_ARGUMENT, "WorkflowId is not set on request."),
    BadRequest("describe-wf-bad-run", "DescribeWorkflowExecution",
               DescribeWorkflowExecutionRequest(
                   namespace="default", execution=_EXEC(workflow_id="x", run_id="bad")),
               INVALID_ARGUMENT, "Invalid RunId."),
    BadRequest("terminate-no-execution", "TerminateWorkflowExecution",
               TerminateWorkflowExecutionRequest(namespace="default"), INVALID_ARGUMENT,
               "Execution is not set on request."),
    BadRequest("history-no-execution", "GetWorkflowExecutionHistory",
               GetWorkflowExecutionHistoryRequest(namespace="default"), INVALID_ARGUMENT,
               "Execution is not set on request."),
    BadRequest("shutdown-unknown-ns", "ShutdownWorker", ShutdownWorkerRequest(namespace="nope"),
               NOT_FOUND, "Namespace nope is not found.", NAMESPACE_NOT_FOUND_FAILURE),
    BadRequest("poll-wf-no-tq", "PollWorkflowTaskQueue",
               PollWorkflowTaskQueueRequest(namespace="default"), INVALID_ARGUMENT,
               "taskQueue is not set"),
    BadRequest("poll-wf-empty-tq", "PollWorkflowTaskQueue",
               PollWorkflowTaskQueueRequest(namespace="default", task_queue=TaskQueue(name="")),
               INVALID_ARGUMENT, "missing task queue name"),
    BadRequest("poll-wf-empty-ns", "PollWorkflowTaskQueue",
               PollWorkflowTaskQueueRequest(task_queue=TaskQueue(name="q")), INVALID_ARGUMENT,
               "Namespace is empty."),
    BadRequest("poll-wf-unknown-ns", "PollWorkflowTaskQueue",
               PollWorkflowTaskQueueRequest(namespace="nope"), NOT_FOUND,
               "Namespace nope is not found.", NAMESPACE_NOT_FOUND_FAILURE),
    BadRequest("poll-wf-long-identity", "PollWorkflowTaskQueue",
               PollWorkflowTaskQueueRequest(namespace="default", identity="i" * 1001),
               INVALID_ARGUMENT, "Identity length exceeds limit."),
    BadRequest("poll-wf-no-deadline", "PollWorkflowTaskQueue",
               PollWorkflowTaskQueueRequest(namespace="default", task_queue=TaskQueue(name="q")),
               INVALID_ARGUMENT, "Context timeout is not set.", timeout=None),
    BadRequest("poll-wf-short-deadline", "PollWorkflowTaskQueue",
               PollWorkflowTaskQueueRequest(namespace="default", task_queue=TaskQueue(name="q")),
               FAILED_PRECONDITION, "Context timeout is too short.", timeout=1.5),
    BadRequest("poll-wf-reserved-tq", "PollWorkflowTaskQueue",
               PollWorkflowTaskQueueRequest(namespace="default",
                                            task_queue=TaskQueue(name="/_sys/q/1")),
               INVALID_ARGUMENT, "task queue name cannot start with reserved prefix /_sys/"),
    BadRequest("poll-act-no-tq", "PollActivityTaskQueue",
               PollActivityTaskQueueRequest(namespace="default", identity="i" * 1001),
               INVALID_ARGUMENT, "taskQueue is not set"),
)
_TASK_TOKEN: tuple[BadRequest, ...] = tuple(
    case
    for rpc, request_type in (
        ("RespondWorkflowTaskCompleted", RespondWorkflowTaskCompletedRequest),
        ("RespondWorkflowTaskFailed", RespondWorkflowTaskFailedRequest),
        ("RespondActivityTaskCompleted", RespondActivityTaskCompletedRequest),
        ("RespondActivityTaskFailed", RespondActivityTaskFailedRequest),
        ("RecordActivityTaskHeartbeat", RecordActivityTaskHeartbeatRequest),
        ("RespondActivityTaskCanceled", RespondActivityTaskCanceledRequest),
    )
    for case in (
        BadRequest(f"{rpc}-no-token", rpc, request_type(namespace="default"), INVALID_ARGUMENT,
                   "Task token not set on request."),
        BadRequest(f"{rpc}-no-token-no-ns", rpc, request_type(), INVALID_ARGUMENT,
                   "Task token not set on request."),
        BadRequest(f"{rpc}-garbage-token", rpc,
                   request_type(namespace="default", task_token=b"garbage"), INVALID_ARGUMENT,
                   "Error deserializing task token."),
        BadRequest(f"{rpc}-garbage-token-no-ns", rpc, request_type(task_token=b"garbage"),
                   INVALID_ARGUMENT, "Error deserializing task token."),
        BadRequest(f"{rpc}-unknown-ns", rpc,
                   request_type(namespace="nope", task_token=b"garbage"), NOT_FOUND,
                   "Namespace nope is not found.", NAMESPACE_NOT_FOUND_FAILURE),
        BadRequest(f"{rpc}-garbage-token-long-identity", rpc,
                   request_type(namespace="default", task_token=b"garbage",
                                identity="i" * 1001),
                   INVALID_ARGUMENT, "Error deserializing task token."),
    )
)
_BY_ID_AND_QUEUES: tuple[BadRequest, ...] = (
    BadRequest("complete-by-id-no-activity", "RespondActivityTaskCompletedById",
               RespondActivityTaskCompletedByIdRequest(namespace="default", workflow_id="w"),
               INVALID_ARGUMENT, "ActivityId is not set on request."),
    BadRequest("complete-by-id-long-identity", "RespondActivityTaskCompletedById",
               RespondActivityTaskCompletedByIdRequest(namespace="default", workflow_id="w",
                                                       activity_id="a", identity="i" * 1001),
               INVALID_ARGUMENT, "Identity length exceeds limit."),
    BadRequest("complete-by-id-empty-ns", "RespondActivityTaskCompletedById",
               RespondActivityTaskCompletedByIdRequest(workflow_id="w", activity_id="a"),
               INVALID_ARGUMENT, "Namespace is empty."),
    BadRequest("heartbeat-by-id-unknown-ns", "RecordActivityTaskHeartbeatById",
               RecordActivityTaskHeartbeatByIdRequest(namespace="nope", workflow_id="w",
                                                      activity_id="a"),
               NOT_FOUND, "Namespace nope is not found.", NAMESPACE_NOT_FOUND_FAILURE),
    BadRequest("fail-by-id-no-activity", "RespondActivityTaskFailedById",
               RespondActivityTaskFailedByIdRequest(namespace="default", workflow_id="w"),
               INVALID_ARGUMENT, "ActivityId is not set on request."),
    BadRequest("cancel-by-id-no-activity", "RespondActivityTaskCanceledById",
               RespondActivityTaskCanceledByIdRequest(namespace="default", workflow_id="w"),
               INVALID_ARGUMENT, "ActivityId is not set on request."),
    BadRequest("reset-sticky-no-execution", "ResetStickyTaskQueue",
               ResetStickyTaskQueueRequest(namespace="default"), INVALID_ARGUMENT,
               "Execution is not set on request."),
    BadRequest("reset-sticky-no-wid", "ResetStickyTaskQueue",
               ResetStickyTaskQueueRequest(namespace="default", execution=_EXEC()),
               INVALID_ARGUMENT, "WorkflowId is not set on request."),
    BadRequest("reset-sticky-bad-run", "ResetStickyTaskQueue",
               ResetStickyTaskQueueRequest(namespace="default",
                                           execution=_EXEC(workflow_id="x", run_id="bad")),
               INVALID_ARGUMENT, "Invalid RunId."),
    BadRequest("reset-sticky-empty-ns", "ResetStickyTaskQueue",
               ResetStickyTaskQueueRequest(execution=_EXEC(workflow_id="x")), INVALID_ARGUMENT,
               "Namespace is empty."),
    BadRequest("describe-tq-no-tq", "DescribeTaskQueue",
               DescribeTaskQueueRequest(namespace="default"), INVALID_ARGUMENT,
               "taskQueue is not set"),
    BadRequest("describe-tq-empty-tq", "DescribeTaskQueue",
               DescribeTaskQueueRequest(namespace="default", task_queue=TaskQueue(name="")),
               INVALID_ARGUMENT, "missing task queue name"),
    BadRequest("describe-tq-long-tq", "DescribeTaskQueue",
               DescribeTaskQueueRequest(namespace="default", task_queue=TaskQueue(name="x" * 1001)),
               INVALID_ARGUMENT, "taskQueue length exceeds limit"),
    BadRequest("describe-tq-stats-not-root", "DescribeTaskQueue",
               DescribeTaskQueueRequest(namespace="default", report_stats=True,
                                        task_queue=TaskQueue(name="/_sys/x/2")),
               INVALID_ARGUMENT,
               "DescribeTaskQueue stats are only supported for the root partition"),
    BadRequest("reverse-no-execution", "GetWorkflowExecutionHistoryReverse",
               GetWorkflowExecutionHistoryReverseRequest(namespace="default"), INVALID_ARGUMENT,
               "Execution is not set on request."),
    BadRequest("reverse-bad-run", "GetWorkflowExecutionHistoryReverse",
               GetWorkflowExecutionHistoryReverseRequest(
                   namespace="default", execution=_EXEC(workflow_id="x", run_id="bad")),
               INVALID_ARGUMENT, "Invalid RunId."),
)
# fmt: on

BAD_REQUESTS: tuple[BadRequest, ...] = (*_GENERAL, *_TASK_TOKEN, *_BY_ID_AND_QUEUES)
"""Cases whose answers were observed on the real dev server (see the module docstring)."""
