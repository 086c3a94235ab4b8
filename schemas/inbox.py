"""The history inbox: every command kind, its payload type, and the InboxCommand record.

One declaration (`PAYLOAD_TYPES`) says what each kind carries. Temporal RPCs travel as their
request protos; Strom's internal messages (matching -> history) as JSON (`schemas.jsoncodec`),
so a field added later never breaks an older reader. The history processor pairs each kind with
its handler; anything that writes to the inbox (the history client, matching, a history shard
addressing another shard) builds the record with `command_record`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from google.protobuf.message import DecodeError
from temporalio.api.enums.v1 import TaskQueueKind
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    GetWorkflowExecutionHistoryRequest,
    PollWorkflowTaskQueueRequest,
    RecordActivityTaskHeartbeatRequest,
    RequestCancelWorkflowExecutionRequest,
    RespondActivityTaskCompletedRequest,
    RespondActivityTaskFailedRequest,
    RespondWorkflowTaskCompletedRequest,
    RespondWorkflowTaskFailedRequest,
    SignalWithStartWorkflowExecutionRequest,
    SignalWorkflowExecutionRequest,
    StartWorkflowExecutionRequest,
    TerminateWorkflowExecutionRequest,
)

from schemas import jsoncodec
from schemas.exceptions import PayloadDecodeError
from schemas.placement import shard_for, shard_key
from schemas.records import InboxCommandRecord, ReplyAddress

RECORD_WORKFLOW_TASK_STARTED: Final = "RecordWorkflowTaskStarted"
"""Matching asks history to record a workflow task's start; the reply payload is a
``PollWorkflowTaskQueueResponse`` (NOT_FOUND when the task is stale)."""

ACTIVITY_TASK_STARTED: Final = "ActivityTaskStarted"
"""Matching tells history an activity attempt was handed to a worker; no reply."""


class _JsonPayload:
    """JSON encoding of the internal messages (one codec: `schemas.jsoncodec`)."""

    def to_bytes(self) -> bytes:
        """The message as compact UTF-8 JSON, bytes fields base64."""
        return jsoncodec.dumps(self)

    def SerializeToString(self) -> bytes:
        """Same as `to_bytes`; lets callers that serialize protos send these too."""
        return self.to_bytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> Any:
        """Parses `to_bytes` output; unknown keys are ignored, missing ones take defaults.

        Raises:
            PayloadDecodeError: not such a message (bad JSON, missing or mistyped field).
        """
        return jsoncodec.loads(cls, data)


@dataclass(frozen=True)
class RecordWorkflowTaskStarted(_JsonPayload):
    """Matching -> history: a poller got this workflow task; record ``WorkflowTaskStarted``.

    History validates the task against mutable state (stale -> NOT_FOUND) and replies with
    the poller's ``PollWorkflowTaskQueueResponse``. A retry with the same ``request_id`` gets
    the same answer (Temporal's idempotency rule for this call).

    Attributes:
        namespace: Namespace name.
        workflow_id: Workflow id of the task.
        run_id: Run id of the task.
        scheduled_event_id: Event id of the task's ``WorkflowTaskScheduled``.
        attempt: Attempt of the task.
        task_token: Token from the task record.
        request_id: Unique per dispatch; the dedupe key of the start.
        identity: The poller's identity (goes into ``WorkflowTaskStarted``).
        task_queue: Queue the task was polled from (a sticky queue's name for sticky polls).
        task_queue_kind: ``"normal"`` or ``"sticky"``.
        poll_request: Serialized ``PollWorkflowTaskQueueRequest`` of the poller.
        started_time_ms: Non-zero for an optimistic start: matching already answered the
            poll from the task's prepared response (`schemas.prepared`); no reply.
    """

    namespace: str
    workflow_id: str
    run_id: str
    scheduled_event_id: int
    attempt: int
    task_token: bytes
    request_id: str
    identity: str
    task_queue: str
    task_queue_kind: str
    poll_request: bytes = b""
    started_time_ms: int = 0

    def poll(self) -> PollWorkflowTaskQueueRequest:
        """The poller's request (rebuilt from the plain fields if it was not sent)."""
        if self.poll_request:
            return PollWorkflowTaskQueueRequest.FromString(self.poll_request)
        kind = (
            TaskQueueKind.TASK_QUEUE_KIND_STICKY
            if self.task_queue_kind == "sticky"
            else TaskQueueKind.TASK_QUEUE_KIND_NORMAL
        )
        return PollWorkflowTaskQueueRequest(
            identity=self.identity, task_queue=TaskQueue(name=self.task_queue, kind=kind)
        )


@dataclass(frozen=True)
class ActivityTaskStarted(_JsonPayload):
    """Matching -> history: an activity attempt was handed to a worker (fire and forget).

    Attributes:
        namespace: Namespace name.
        workflow_id: Workflow id of the activity.
        run_id: Run id of the activity.
        scheduled_event_id: Event id of the activity's ``ActivityTaskScheduled``.
        attempt: Attempt handed out.
        task_token: Token from the task record.
        request_id: Unique per dispatch.
        identity: The poller's identity.
        started_time_ms: When matching handed it out, epoch milliseconds.
    """

    namespace: str
    workflow_id: str
    run_id: str
    scheduled_event_id: int
    attempt: int
    task_token: bytes
    request_id: str
    identity: str
    started_time_ms: int = 0


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
    "SignalWorkflowExecution": SignalWorkflowExecutionRequest,
    "SignalWithStartWorkflowExecution": SignalWithStartWorkflowExecutionRequest,
    "RequestCancelWorkflowExecution": RequestCancelWorkflowExecutionRequest,
    RECORD_WORKFLOW_TASK_STARTED: RecordWorkflowTaskStarted,
    ACTIVITY_TASK_STARTED: ActivityTaskStarted,
}
"""Every inbox kind and the type of its payload; a kind not here is unknown to history."""


def parse_payload(kind: str, payload: bytes) -> Any:
    """Parses an InboxCommand payload of `kind`.

    Raises:
        KeyError: unknown kind.
        PayloadDecodeError: malformed payload.
    """
    payload_type = PAYLOAD_TYPES[kind]
    if issubclass(payload_type, _JsonPayload):
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
    }


def placement(namespace: str, workflow_id: str, shard_count: int) -> tuple[bytes, int]:
    """(record key, partition) of a command for a workflow: its shard key and its shard."""
    return shard_key(namespace, workflow_id), shard_for(namespace, workflow_id, shard_count)
