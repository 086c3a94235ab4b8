"""Internal messages matching sends to the history inbox (RecordWorkflowTaskStarted & co.).

Both travel as the ``payload`` of an ``InboxCommand`` (kinds ``RECORD_WORKFLOW_TASK_STARTED`` and
``ACTIVITY_TASK_STARTED``), encoded as UTF-8 JSON objects whose bytes fields are base64 strings.
Decoders ignore unknown keys, so fields can be added later without breaking older readers.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from dataclasses import dataclass
from typing import Any, TypeVar

RECORD_WORKFLOW_TASK_STARTED = "RecordWorkflowTaskStarted"
"""Inbox kind: matching asks history to record a workflow task's start; the reply payload is a
``PollWorkflowTaskQueueResponse`` (NOT_FOUND when the task is stale)."""

ACTIVITY_TASK_STARTED = "ActivityTaskStarted"
"""Inbox kind: matching tells history an activity attempt was handed to a worker; no reply."""

_T = TypeVar("_T", bound="_JsonMessage")


class _JsonMessage:
    """JSON encoding shared by the internal messages; ``bytes`` fields become base64."""

    def to_bytes(self) -> bytes:
        """Returns the message as UTF-8 JSON."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            out[f.name] = base64.b64encode(value).decode("ascii") if f.type == "bytes" else value
        return json.dumps(out, separators=(",", ":"), sort_keys=True).encode("utf-8")

    def SerializeToString(self) -> bytes:
        """Same as ``to_bytes``; lets a client that serializes requests as protobufs send it."""
        return self.to_bytes()

    @classmethod
    def from_bytes(cls: type[_T], data: bytes) -> _T:
        """Parses a message written by ``to_bytes``.

        Raises:
            ValueError: The bytes are not such a message (bad JSON, missing or mistyped field).
        """
        try:
            raw = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a {cls.__name__}: {exc}") from exc
        if not isinstance(raw, dict):
            raise ValueError(f"not a {cls.__name__}: a JSON object is expected")
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.name not in raw:
                if f.default is not dataclasses.MISSING:
                    continue
                raise ValueError(f"{cls.__name__} lacks field {f.name!r}")
            value = raw[f.name]
            kwargs[f.name] = _parse_field(cls.__name__, f.name, f.type, value)
        return cls(**kwargs)


def _parse_field(owner: str, name: str, type_name: Any, value: Any) -> Any:
    expected = {"bytes": str, "str": str, "int": int}.get(str(type_name))
    if expected is None or not isinstance(value, expected) or isinstance(value, bool):
        raise ValueError(f"{owner}.{name} has a bad value {value!r}")
    if type_name == "bytes":
        try:
            return base64.b64decode(str(value), validate=True)
        except ValueError as exc:
            raise ValueError(f"{owner}.{name} is not base64") from exc
    return value


@dataclass(frozen=True)
class RecordWorkflowTaskStartedRequest(_JsonMessage):
    """Matching -> history: a poller got this workflow task; record ``WorkflowTaskStarted``.

    History validates ``task_token`` against mutable state (stale -> NOT_FOUND) and replies with
    the ``PollWorkflowTaskQueueResponse`` for the poller. A retry with the same ``request_id``
    must get the same answer (Temporal's idempotency rule for this call).

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
            poll from the task's prepared response (``history_processor.optimistic``); no reply.
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


@dataclass(frozen=True)
class ActivityTaskStartedRequest(_JsonMessage):
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
    started_time_ms: int
