"""Payloads of the inbox kinds: Temporal request protos and Strom's internal messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from temporalio.api.enums.v1 import TaskQueueKind
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    GetWorkflowExecutionHistoryRequest,
    PollWorkflowTaskQueueRequest,
    RecordActivityTaskHeartbeatRequest,
    RespondActivityTaskCompletedRequest,
    RespondActivityTaskFailedRequest,
    RespondWorkflowTaskCompletedRequest,
    RespondWorkflowTaskFailedRequest,
    StartWorkflowExecutionRequest,
    TerminateWorkflowExecutionRequest,
)

from history_processor import codec
from history_processor.deadlines import Deadline


@dataclass
class RecordWorkflowTaskStarted:
    """Matching -> history: a poller took a workflow task (kind RecordWorkflowTaskStarted).

    Built by matching from the TaskRecord it dispatches and the poll request it answers.

    Attributes:
        run_id: TaskRecord.run_id.
        scheduled_event_id: TaskRecord.scheduled_event_id.
        attempt: TaskRecord.attempt.
        request_id: Unique id of this poll; a retried RecordWorkflowTaskStarted with the same
            request id gets the same answer.
        poll_request: Serialized PollWorkflowTaskQueueRequest (identity, task queue, worker
            version) of the poller.
        identity: The poller's identity, if `poll_request` is empty.
        task_queue: The polled queue's name, if `poll_request` is empty.
        task_queue_kind: "normal" or "sticky", if `poll_request` is empty.

    The JSON form is the one of matching_processor.messages.RecordWorkflowTaskStartedRequest;
    keys this class does not know are ignored.
    """

    run_id: str
    scheduled_event_id: int
    attempt: int
    request_id: str
    poll_request: bytes = b""
    started_time_ms: int = 0
    identity: str = ""
    task_queue: str = ""
    task_queue_kind: str = ""

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

    def to_bytes(self) -> bytes:
        """Serialization for InboxCommand.payload."""
        return codec.dumps(self)

    @classmethod
    def from_bytes(cls, data: bytes) -> RecordWorkflowTaskStarted:
        """Parses `to_bytes` output."""
        return codec.loads(cls, data)


@dataclass
class ActivityTaskStarted:
    """Matching -> history: an activity task was handed to a worker (no reply expected).

    Attributes:
        run_id: TaskRecord.run_id.
        scheduled_event_id: TaskRecord.scheduled_event_id.
        attempt: TaskRecord.attempt.
        request_id: Unique id of the poll.
        identity: The poller's identity.
        started_time_ms: The started time matching put into the poll response (0: now).

    The JSON form is the one of matching_processor.messages.ActivityTaskStartedRequest.
    """

    run_id: str
    scheduled_event_id: int
    attempt: int
    request_id: str
    identity: str
    started_time_ms: int = 0

    def to_bytes(self) -> bytes:
        """Serialization for InboxCommand.payload."""
        return codec.dumps(self)

    @classmethod
    def from_bytes(cls, data: bytes) -> ActivityTaskStarted:
        """Parses `to_bytes` output."""
        return codec.loads(cls, data)


_PROTO_KINDS: dict[str, Any] = {
    "StartWorkflowExecution": StartWorkflowExecutionRequest,
    "RespondWorkflowTaskCompleted": RespondWorkflowTaskCompletedRequest,
    "RespondWorkflowTaskFailed": RespondWorkflowTaskFailedRequest,
    "RespondActivityTaskCompleted": RespondActivityTaskCompletedRequest,
    "RespondActivityTaskFailed": RespondActivityTaskFailedRequest,
    "RecordActivityTaskHeartbeat": RecordActivityTaskHeartbeatRequest,
    "TerminateWorkflowExecution": TerminateWorkflowExecutionRequest,
    "GetWorkflowExecutionHistory": GetWorkflowExecutionHistoryRequest,
    "DescribeWorkflowExecution": DescribeWorkflowExecutionRequest,
}

_INTERNAL_KINDS: dict[str, Any] = {
    "RecordWorkflowTaskStarted": RecordWorkflowTaskStarted,
    "ActivityTaskStarted": ActivityTaskStarted,
    "TimerFired": Deadline,
}

KINDS = frozenset(_PROTO_KINDS) | frozenset(_INTERNAL_KINDS)


def parse_payload(kind: str, payload: bytes) -> Any:
    """Parses an InboxCommand payload for `kind`.

    Raises:
        KeyError: unknown kind.
        google.protobuf.message.DecodeError, StateCodecError: malformed payload.
    """
    if kind in _PROTO_KINDS:
        return _PROTO_KINDS[kind].FromString(payload)
    return _INTERNAL_KINDS[kind].from_bytes(payload)
