"""The history inbox: every command kind, its payload type, and the InboxCommand record.

One declaration (`PAYLOAD_TYPES`) says what each kind carries. Temporal RPCs travel as their
request protos; Strom's internal messages (`schemas.inbox_messages`) as JSON, so a field added
later never breaks an older reader. The history processor pairs each kind with its handler;
anything that writes to the inbox (the history client, matching, a history shard
addressing another shard) builds the record with `command_record`.
"""

from __future__ import annotations

from typing import Any, Final

from google.protobuf.message import DecodeError
from temporalio.api.workflowservice.v1 import (
    DeleteWorkflowExecutionRequest,
    DescribeWorkflowExecutionRequest,
    GetWorkflowExecutionHistoryRequest,
    GetWorkflowExecutionHistoryReverseRequest,
    PauseActivityRequest,
    RecordActivityTaskHeartbeatByIdRequest,
    RecordActivityTaskHeartbeatRequest,
    RequestCancelWorkflowExecutionRequest,
    ResetActivityRequest,
    ResetStickyTaskQueueRequest,
    ResetWorkflowExecutionRequest,
    RespondActivityTaskCanceledByIdRequest,
    RespondActivityTaskCanceledRequest,
    RespondActivityTaskCompletedByIdRequest,
    RespondActivityTaskCompletedRequest,
    RespondActivityTaskFailedByIdRequest,
    RespondActivityTaskFailedRequest,
    RespondWorkflowTaskCompletedRequest,
    RespondWorkflowTaskFailedRequest,
    SignalWithStartWorkflowExecutionRequest,
    SignalWorkflowExecutionRequest,
    StartWorkflowExecutionRequest,
    TerminateWorkflowExecutionRequest,
    UnpauseActivityRequest,
    UpdateActivityOptionsRequest,
)

from schemas.exceptions import PayloadDecodeError
from schemas.inbox_messages import (
    ActivityTaskStarted,
    ChildReport,
    ExternalRequest,
    ExternalResult,
    GetQueryTask,
    JsonPayload,
    PollWorkflowUpdate,
    QueryWorkflow,
    RecordWorkflowTaskStarted,
    ReplicateEvents,
    StartChildWorkflow,
    StickyWorkerUnavailable,
    UpdateWithStart,
    UpdateWorkflow,
)
from schemas.placement import shard_for, shard_key
from schemas.records import InboxCommandRecord, ReplyAddress

PRODUCER_SETTINGS: Final[dict[str, Any]] = {
    "linger.ms": 0,
    "acks": "all",
    "enable.idempotence": True,
    # One produce request in flight per broker: commands produced while it is out leave
    # together in the next one, and a lone command still leaves at once. Under load
    # (bench_breakdown, C=100) the frontend's librdkafka threads fell from about 2.0 to
    # 0.6 ms of CPU per workflow, and its produce requests from 4.6 to 4.0 per workflow.
    "max.in.flight.requests.per.connection": 1,
}
"""librdkafka settings of a (non-transactional) producer of InboxCommands, besides the
cluster's address: the history client's and the matching member's."""

RECORD_WORKFLOW_TASK_STARTED: Final = "RecordWorkflowTaskStarted"
"""Matching asks history to record a workflow task's start; the reply payload is a
``PollWorkflowTaskQueueResponse`` (NOT_FOUND when the task is stale)."""

ACTIVITY_TASK_STARTED: Final = "ActivityTaskStarted"
"""Matching tells history an activity attempt was handed to a worker; no reply. Matching no
longer sends it (see RECORD_ACTIVITY_TASK_STARTED); kept so that records already in the inbox
are still understood."""

RECORD_ACTIVITY_TASK_STARTED: Final = "RecordActivityTaskStarted"
"""Matching asks history to record an activity attempt's start before the worker gets it
(Temporal's RecordActivityTaskStarted); payload ``ActivityTaskStarted``. OK: the attempt is
this dispatch's (a retry with the same request id is OK again); NOT_FOUND: the task is stale;
ALREADY_EXISTS: another dispatch started it. Matching drops the task on any error but a
transient one."""

QUERY_WORKFLOW: Final = "QueryWorkflow"
"""The frontend asks history where a query goes, or for its answer from a workflow task;
the reply payload is a ``schemas.queries.QueryDispatch``. Nothing is written to history."""

GET_QUERY_TASK: Final = "GetQueryTask"
"""Matching asks history for the poll response of a query task a poller took; the reply
payload is a ``PollWorkflowTaskQueueResponse`` without token and query."""
STICKY_WORKER_UNAVAILABLE: Final = "StickyWorkerUnavailable"
"""Matching tells history a workflow task's sticky queue has no worker; no reply."""
UPDATE_WORKFLOW_EXECUTION: Final = "UpdateWorkflowExecution"
"""The frontend admits a workflow update (or joins one by update id) and waits for a stage;
the reply payload is an ``UpdateWorkflowExecutionResponse``."""
POLL_WORKFLOW_EXECUTION_UPDATE: Final = "PollWorkflowExecutionUpdate"
"""The frontend waits for the outcome of a known update; the reply payload is a
``PollWorkflowExecutionUpdateResponse``."""
EXECUTE_MULTI_OPERATION: Final = "ExecuteMultiOperation"
"""The frontend's update-with-start: history decides the start and admits the update in one
decision and waits like an update; the reply payload is an ``ExecuteMultiOperationResponse``,
an error carries Temporal's ``MultiOperationExecutionFailure``."""


START_CHILD_WORKFLOW: Final = "StartChildWorkflow"
CHILD_WORKFLOW_STARTED: Final = "ChildWorkflowStarted"
START_CHILD_WORKFLOW_FAILED: Final = "StartChildWorkflowFailed"
CHILD_WORKFLOW_CLOSED: Final = "ChildWorkflowClosed"
SIGNAL_EXTERNAL_WORKFLOW: Final = "SignalExternalWorkflow"
SIGNAL_EXTERNAL_WORKFLOW_RESULT: Final = "SignalExternalWorkflowResult"
CANCEL_EXTERNAL_WORKFLOW: Final = "CancelExternalWorkflow"
CANCEL_EXTERNAL_WORKFLOW_RESULT: Final = "CancelExternalWorkflowResult"
REPLICATE_EVENTS: Final = "ReplicateEvents"
"""The replicator -> a standby cluster's history: fold one batch of the active cluster."""


PAYLOAD_TYPES: Final[dict[str, Any]] = {
    "StartWorkflowExecution": StartWorkflowExecutionRequest,
    "RespondWorkflowTaskCompleted": RespondWorkflowTaskCompletedRequest,
    "RespondWorkflowTaskFailed": RespondWorkflowTaskFailedRequest,
    "RespondActivityTaskCompleted": RespondActivityTaskCompletedRequest,
    "RespondActivityTaskFailed": RespondActivityTaskFailedRequest,
    "RecordActivityTaskHeartbeat": RecordActivityTaskHeartbeatRequest,
    "TerminateWorkflowExecution": TerminateWorkflowExecutionRequest,
    "GetWorkflowExecutionHistory": GetWorkflowExecutionHistoryRequest,
    "DescribeWorkflowExecution": DescribeWorkflowExecutionRequest,
    "RespondActivityTaskCanceled": RespondActivityTaskCanceledRequest,
    "RespondActivityTaskCompletedById": RespondActivityTaskCompletedByIdRequest,
    "RespondActivityTaskFailedById": RespondActivityTaskFailedByIdRequest,
    "RespondActivityTaskCanceledById": RespondActivityTaskCanceledByIdRequest,
    "RecordActivityTaskHeartbeatById": RecordActivityTaskHeartbeatByIdRequest,
    "ResetStickyTaskQueue": ResetStickyTaskQueueRequest,
    "GetWorkflowExecutionHistoryReverse": GetWorkflowExecutionHistoryReverseRequest,
    "SignalWorkflowExecution": SignalWorkflowExecutionRequest,
    "SignalWithStartWorkflowExecution": SignalWithStartWorkflowExecutionRequest,
    "RequestCancelWorkflowExecution": RequestCancelWorkflowExecutionRequest,
    "DeleteWorkflowExecution": DeleteWorkflowExecutionRequest,
    "ResetWorkflowExecution": ResetWorkflowExecutionRequest,
    RECORD_WORKFLOW_TASK_STARTED: RecordWorkflowTaskStarted,
    ACTIVITY_TASK_STARTED: ActivityTaskStarted,
    RECORD_ACTIVITY_TASK_STARTED: ActivityTaskStarted,
    QUERY_WORKFLOW: QueryWorkflow,
    GET_QUERY_TASK: GetQueryTask,
    STICKY_WORKER_UNAVAILABLE: StickyWorkerUnavailable,
    START_CHILD_WORKFLOW: StartChildWorkflow,
    CHILD_WORKFLOW_STARTED: ChildReport,
    START_CHILD_WORKFLOW_FAILED: ChildReport,
    CHILD_WORKFLOW_CLOSED: ChildReport,
    SIGNAL_EXTERNAL_WORKFLOW: ExternalRequest,
    SIGNAL_EXTERNAL_WORKFLOW_RESULT: ExternalResult,
    CANCEL_EXTERNAL_WORKFLOW: ExternalRequest,
    CANCEL_EXTERNAL_WORKFLOW_RESULT: ExternalResult,
    UPDATE_WORKFLOW_EXECUTION: UpdateWorkflow,
    POLL_WORKFLOW_EXECUTION_UPDATE: PollWorkflowUpdate,
    EXECUTE_MULTI_OPERATION: UpdateWithStart,
    "PauseActivity": PauseActivityRequest,
    "UnpauseActivity": UnpauseActivityRequest,
    "ResetActivity": ResetActivityRequest,
    "UpdateActivityOptions": UpdateActivityOptionsRequest,
    REPLICATE_EVENTS: ReplicateEvents,
}
"""Every inbox kind and the type of its payload; a kind not here is unknown to history."""


def parse_payload(kind: str, payload: bytes) -> Any:
    """Parses an InboxCommand payload of `kind`.

    Raises:
        KeyError: unknown kind.
        PayloadDecodeError: malformed payload.
    """
    payload_type = PAYLOAD_TYPES[kind]
    if issubclass(payload_type, JsonPayload):
        return payload_type.from_bytes(payload)
    try:
        return payload_type.FromString(payload)
    except DecodeError as exc:
        raise PayloadDecodeError(f"malformed {kind} payload: {exc}") from exc


def command_record(
    command_id: str,
    namespace: str,
    workflow_id: str,
    kind: str,
    payload: bytes,
    request_time_ms: int,
    reply_to: ReplyAddress | None = None,
    reply_datagram: str | None = None,
) -> InboxCommandRecord:
    """The InboxCommand record of one command."""
    return {
        "command_id": command_id,
        "namespace": namespace,
        "workflow_id": workflow_id,
        "kind": kind,
        "payload": payload,
        "reply_to": reply_to,
        "request_time_ms": request_time_ms,
        "reply_datagram": reply_datagram,
    }


def placement(namespace: str, workflow_id: str, shard_count: int) -> tuple[bytes, int]:
    """(record key, partition) of a command for a workflow: its shard key and its shard."""
    return shard_key(namespace, workflow_id), shard_for(namespace, workflow_id, shard_count)
