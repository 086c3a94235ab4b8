"""The decider's input and output types: Command, Decision, Reply, gRPC status codes."""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import Message
from temporalio.api.history.v1 import HistoryEvent

# Reads committed events of the current run with first_event_id <= id < next_event_id, in order.
EventReader = Callable[[int, int], Sequence[HistoryEvent]]


class Code(enum.IntEnum):
    """gRPC status codes (numeric values of grpc.StatusCode), without importing grpc."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14


@dataclass(frozen=True)
class Command:
    """One inbox command, its payload already parsed (see `messages.parse_payload`).

    Attributes:
        kind: Inbox kind, e.g. "StartWorkflowExecution", "TimerFired".
        command_id: Unique id of the command (correlates the reply).
        namespace: Namespace name.
        namespace_id: Namespace id (the glue resolves it from the namespaces topic).
        workflow_id: Workflow id (the shard key).
        payload: The Temporal request proto, or an internal message of `messages`.
    """

    kind: str
    command_id: str
    namespace: str
    namespace_id: str
    workflow_id: str
    payload: Any


@dataclass
class Reply:
    """The answer to a command (becomes a strom.v1.Reply record).

    Attributes:
        status_code: gRPC status, `Code.OK` on success.
        message: Error message (Temporal's wording), empty on success.
        payload: Response proto on success.
        details: Error-detail proto (e.g. WorkflowExecutionAlreadyStartedFailure); the record's
            details_type is `details.DESCRIPTOR.full_name`.
    """

    status_code: int = Code.OK
    message: str = ""
    payload: Message | None = None
    details: Message | None = None

    @property
    def ok(self) -> bool:
        """True for a successful reply."""
        return self.status_code == Code.OK


def error(code: Code, message: str, details: Message | None = None) -> Reply:
    """An error reply."""
    return Reply(status_code=code, message=message, details=details)


@dataclass
class Decision:
    """Everything one command produces; committed atomically by the caller.

    Attributes:
        events: New history events of the run, ids contiguous from the state's next_event_id
            (from 1 for a new run).
        updates: (kind, payload) state updates that are not history events; fold them with
            the events through `fold.apply_batch`.
        tasks: TaskRecord dicts for the tasks topic.
        visibility: A VisibilityRecord dict, or None.
        reply: The reply; None only for a long-poll read with nothing new yet (the caller
            parks the command and decides it again after the run's next commit).
    """

    events: list[HistoryEvent] = field(default_factory=list)
    updates: list[tuple[str, bytes]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    visibility: dict[str, Any] | None = None
    reply: Reply | None = field(default_factory=Reply)
