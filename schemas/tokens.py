"""Task tokens: the opaque handle a worker gets with a task and sends back to complete it."""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

from schemas.exceptions import TaskTokenError

# "Strom Task Token", format version 1. A different prefix means garbage or a foreign token.
_MAGIC = b"STT\x01"
_HEADER = struct.Struct(">B")
_INTS = struct.Struct(">qiq")  # scheduled_event_id, attempt, started_event_id
_LEN = struct.Struct(">I")
_MAX_STRING = 64 * 1024


class TaskKind(enum.Enum):
    """What a task token refers to."""

    WORKFLOW = 1
    ACTIVITY = 2


@dataclass(frozen=True)
class TaskToken:
    """The decoded content of a task token.

    The history processor validates every field against mutable state; a token that no longer
    matches (older attempt, other run, completed task) is answered with NOT_FOUND.

    Attributes:
        kind: Workflow or activity task.
        namespace_id: Namespace id (not name), as Temporal puts in its tokens.
        workflow_id: Workflow id.
        run_id: Run id.
        scheduled_event_id: Id of the task's scheduled event (for transient workflow tasks, the
            id the scheduled event will get).
        attempt: Attempt of the task.
        started_event_id: For workflow tasks: the started event id; 0 for a token handed to
            matching before the task started, and for activity tasks.
        activity_id: For activity tasks: the activity id.
    """

    kind: TaskKind
    namespace_id: str
    workflow_id: str
    run_id: str
    scheduled_event_id: int
    attempt: int
    started_event_id: int = 0
    activity_id: str = ""


def _put_string(out: list[bytes], value: str) -> None:
    raw = value.encode("utf-8")
    out.append(_LEN.pack(len(raw)))
    out.append(raw)


def encode(token: TaskToken) -> bytes:
    """Serializes a token to bytes."""
    out = [_MAGIC, _HEADER.pack(token.kind.value)]
    for text in (token.namespace_id, token.workflow_id, token.run_id, token.activity_id):
        _put_string(out, text)
    out.append(_INTS.pack(token.scheduled_event_id, token.attempt, token.started_event_id))
    return b"".join(out)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            raise TaskTokenError("task token is truncated")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def string(self) -> str:
        (size,) = _LEN.unpack(self.take(_LEN.size))
        if size > _MAX_STRING:
            raise TaskTokenError("task token has an oversized field")
        try:
            return self.take(size).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TaskTokenError("task token has a field that is not UTF-8") from exc


def decode(data: bytes) -> TaskToken:
    """Parses a token produced by `encode`.

    Raises:
        TaskTokenError: `data` is not a well-formed Strom task token.
    """
    if not isinstance(data, bytes | bytearray) or not data.startswith(_MAGIC):
        raise TaskTokenError("not a Strom task token")
    reader = _Reader(bytes(data))
    reader.take(len(_MAGIC))
    (kind_value,) = _HEADER.unpack(reader.take(_HEADER.size))
    try:
        kind = TaskKind(kind_value)
    except ValueError as exc:
        raise TaskTokenError(f"unknown task token kind {kind_value}") from exc
    namespace_id, workflow_id, run_id, activity_id = (reader.string() for _ in range(4))
    scheduled, attempt, started = _INTS.unpack(reader.take(_INTS.size))
    if reader.pos != len(data):
        raise TaskTokenError("task token has trailing bytes")
    if scheduled <= 0 or attempt <= 0 or started < 0:
        raise TaskTokenError("task token has out-of-range ids")
    return TaskToken(
        kind=kind,
        namespace_id=namespace_id,
        workflow_id=workflow_id,
        run_id=run_id,
        scheduled_event_id=scheduled,
        attempt=attempt,
        started_event_id=started,
        activity_id=activity_id,
    )


# A query task's token is not a workflow task's: nothing in history refers to it, and
# RespondQueryTaskCompleted must find the matching process holding the waiting query.
_QUERY_MAGIC = b"STQ\x01"


@dataclass(frozen=True)
class QueryTaskToken:
    """The decoded content of a query task's token (Temporal's tokenspb.QueryTask).

    Attributes:
        namespace_id: Namespace id of the queried workflow.
        task_queue: Queue the query was handed out on (a sticky queue's name, or the normal
            queue's).
        task_id: Id of the query task inside the matching process.
        matching_address: gRPC address of the matching process the query waits in.
    """

    namespace_id: str
    task_queue: str
    task_id: str
    matching_address: str


def encode_query_token(token: QueryTaskToken) -> bytes:
    """Serializes a query task token to bytes."""
    out = [_QUERY_MAGIC]
    for text in (token.namespace_id, token.task_queue, token.task_id, token.matching_address):
        _put_string(out, text)
    return b"".join(out)


def decode_query_token(data: bytes) -> QueryTaskToken:
    """Parses a token produced by `encode_query_token`.

    Raises:
        TaskTokenError: `data` is not a well-formed query task token.
    """
    if not isinstance(data, bytes | bytearray) or not data.startswith(_QUERY_MAGIC):
        raise TaskTokenError("not a Strom query task token")
    reader = _Reader(bytes(data))
    reader.take(len(_QUERY_MAGIC))
    namespace_id, task_queue, task_id, address = (reader.string() for _ in range(4))
    if reader.pos != len(data):
        raise TaskTokenError("query task token has trailing bytes")
    return QueryTaskToken(namespace_id, task_queue, task_id, address)
