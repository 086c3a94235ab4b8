"""Request checks shared by several RPCs, with Temporal's status messages.

Every check raises ``ServiceError`` on bad input and may normalize the message in place
the way Temporal's frontend does (defaults filled before the request is forwarded).
"""

from __future__ import annotations

import logging
import uuid

from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from temporalio.api.common.v1 import RetryPolicy, WorkflowExecution
from temporalio.api.enums.v1 import TaskQueueKind, TimeoutType
from temporalio.api.failure.v1 import Failure
from temporalio.api.taskqueue.v1 import TaskQueue

from frontend.errors import invalid_argument

log = logging.getLogger(__name__)

BLOB_SIZE_LIMIT_ERROR = 2 * 1024 * 1024
"""Temporal's limit.blobSize.error: a payload field larger than this is refused."""
BLOB_SIZE_LIMIT_WARN = 512 * 1024
"""Temporal's limit.blobSize.warn: larger payloads are logged."""

RESERVED_TASK_QUEUE_PREFIX = "/_sys/"
_TIMEOUT_FAILURE_PREFIX = "TemporalTimeout:"
_MAX_DURATION_S = 100 * 365 * 24 * 3600  # Temporal caps durations at 100 years
_PROTO_DURATION_MAX_S = 315_576_000_000  # +-10000 years, protobuf's own limit


def duration_error(duration: Duration) -> str | None:
    """Why Temporal rejects a duration ("negative duration", ...), or None if valid.

    Valid durations longer than 100 years are capped in place, as Temporal does.
    """
    seconds, nanos = duration.seconds, duration.nanos
    if (seconds > 0 and nanos < 0) or (seconds < 0 and nanos > 0):
        return "duration has seconds and nanos with different signs"
    if seconds < 0 or (seconds == 0 and nanos < 0):
        return "negative duration"
    if seconds >= _MAX_DURATION_S:
        duration.seconds, duration.nanos = _MAX_DURATION_S, 0
    return None


def validate_duration(owner: Message, field: str, message: str) -> None:
    """Rejects ``owner.field`` when set and invalid, with "<message> cause: <why>"."""
    if not owner.HasField(field):
        return
    why = duration_error(getattr(owner, field))
    if why is not None:
        raise invalid_argument(f"{message} cause: {why}")


def validate_blob_size(payloads: Message, what: str) -> None:
    """Temporal's CheckEventBlobSizeLimit: INVALID_ARGUMENT above 2 MiB, a warning above 512 KiB.

    Args:
        payloads: The field (e.g. a request's ``input``).
        what: Names it in the warning log.
    """
    size = payloads.ByteSize()
    if size > BLOB_SIZE_LIMIT_ERROR:
        raise invalid_argument("Blob data size exceeds limit.")
    if size > BLOB_SIZE_LIMIT_WARN:
        log.warning(
            "%s of %d bytes is above the %d warning limit", what, size, BLOB_SIZE_LIMIT_WARN
        )


def validate_length(value: str, limit: int, message: str) -> None:
    """Rejects strings longer than ``limit`` bytes (Go's len counts UTF-8 bytes)."""
    if len(value.encode()) > limit:
        raise invalid_argument(message)


def validate_workflow_id(workflow_id: str, limit: int) -> None:
    """A workflow id must be set and at most ``limit`` bytes long."""
    if not workflow_id:
        raise invalid_argument("WorkflowId is not set on request.")
    size = len(workflow_id.encode())
    if size > limit:
        raise invalid_argument(f"WorkflowId exceeds maximum allowed length ({size}/{limit})")


def validate_execution(owner: Message, field: str) -> WorkflowExecution:
    """The execution ``owner.field`` must be set, with a workflow id and a UUID run id if any."""
    if not owner.HasField(field):
        raise invalid_argument("Execution is not set on request.")
    execution: WorkflowExecution = getattr(owner, field)
    if not execution.workflow_id:
        raise invalid_argument("WorkflowId is not set on request.")
    if execution.run_id and not is_uuid(execution.run_id):
        raise invalid_argument("Invalid RunId.")
    return execution


def is_uuid(value: str) -> bool:
    """True for any textual UUID form Go's uuid.Validate accepts (here: Python's parser)."""
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def validate_task_queue(owner: Message, field: str, limit: int) -> TaskQueue:
    """Checks and normalizes a task queue: set, named, short, not reserved; kind NORMAL if unset."""
    if not owner.HasField(field):
        raise invalid_argument("taskQueue is not set")
    task_queue: TaskQueue = getattr(owner, field)
    if task_queue.kind == TaskQueueKind.TASK_QUEUE_KIND_UNSPECIFIED:
        task_queue.kind = TaskQueueKind.TASK_QUEUE_KIND_NORMAL
    if not task_queue.name:
        raise invalid_argument("missing task queue name")
    _validate_task_queue_name(task_queue.name, limit, root=True)
    if task_queue.kind == TaskQueueKind.TASK_QUEUE_KIND_STICKY and task_queue.normal_name:
        _validate_task_queue_name(task_queue.normal_name, limit, root=False)
    return task_queue


def _validate_task_queue_name(name: str, limit: int, root: bool) -> None:
    validate_length(name, limit, "taskQueue length exceeds limit")
    if root and name.startswith(RESERVED_TASK_QUEUE_PREFIX):
        raise invalid_argument(
            f"task queue name cannot start with reserved prefix {RESERVED_TASK_QUEUE_PREFIX}"
        )


def ensure_request_id(owner: Message, limit: int) -> None:
    """Fills an empty ``request_id`` with a fresh UUID and rejects overlong ones."""
    if not owner.request_id:  # type: ignore[attr-defined]
        # Temporal defaults it for direct API use; SDKs always set one so retries dedupe.
        owner.request_id = str(uuid.uuid4())  # type: ignore[attr-defined]
    validate_length(owner.request_id, limit, "RequestId length exceeds limit.")  # type: ignore[attr-defined]


def validate_retry_policy(policy: RetryPolicy) -> None:
    """Fills Temporal's workflow retry defaults into ``policy`` and rejects insane values."""
    _ensure_retry_defaults(policy)
    if policy.maximum_attempts == 1:
        return  # no retries: the other fields do not matter (Temporal skips them too)
    why = duration_error(policy.initial_interval)
    if why is not None:
        raise invalid_argument(f"invalid InitialInterval set on retry policy: {why}")
    if policy.backoff_coefficient < 1:
        raise invalid_argument("BackoffCoefficient cannot be less than 1 on retry policy.")
    why = duration_error(policy.maximum_interval)
    if why is not None:
        raise invalid_argument(f"invalid MaximumInterval set on retry policy: {why}")
    maximum, initial = _seconds(policy.maximum_interval), _seconds(policy.initial_interval)
    if 0 < maximum < initial:
        raise invalid_argument(
            "MaximumInterval cannot be less than InitialInterval on retry policy."
        )
    if policy.maximum_attempts < 0:
        raise invalid_argument("MaximumAttempts cannot be negative on retry policy.")
    for error_type in policy.non_retryable_error_types:
        if error_type.startswith(_TIMEOUT_FAILURE_PREFIX):
            value = error_type[len(_TIMEOUT_FAILURE_PREFIX) :]
            if not _is_timeout_type(value):
                raise invalid_argument(f"Invalid timeout type value: {value}.")


def _ensure_retry_defaults(policy: RetryPolicy) -> None:
    # Temporal's DefaultWorkflowRetryPolicy: 1 s initial, x2 backoff, max 100 x initial.
    if _seconds(policy.initial_interval) == 0:
        policy.initial_interval.CopyFrom(Duration(seconds=1))
    if _seconds(policy.maximum_interval) == 0:
        total_ns = (policy.initial_interval.seconds * 10**9 + policy.initial_interval.nanos) * 100
        # Go computes it in a time.Duration, which saturates at int64 nanoseconds: without the
        # clamp a huge or very negative initial interval overflows the Duration message
        # (INTERNAL) instead of reaching the checks below.
        total_ns = max(-(2**63), min(total_ns, 2**63 - 1))
        policy.maximum_interval.CopyFrom(
            Duration(seconds=total_ns // 10**9, nanos=total_ns % 10**9)
        )
    if policy.backoff_coefficient == 0:
        policy.backoff_coefficient = 2.0


def _is_timeout_type(value: str) -> bool:
    # Temporal accepts the enum's full name or its short Go name ("StartToClose").
    names = {name: number for name, number in TimeoutType.items()}
    short = {
        "".join(w.capitalize() for w in name.removeprefix("TIMEOUT_TYPE_").split("_")): number
        for name, number in names.items()
    }
    number = names.get(value, short.get(value))
    return number is not None and number != TimeoutType.TIMEOUT_TYPE_UNSPECIFIED


def _seconds(duration: Duration) -> float:
    return duration.seconds + duration.nanos / 1e9


def validate_identity(identity: str, limit: int) -> None:
    """A worker identity may be at most ``limit`` bytes."""
    validate_length(identity, limit, "Identity length exceeds limit.")


def validate_next_retry_delays(failure: Failure) -> None:
    """Every NextRetryDelay in a failure chain must be a valid protobuf Duration."""
    current: Failure | None = failure
    while current is not None:
        info = current.application_failure_info
        if current.HasField("application_failure_info") and info.HasField("next_retry_delay"):
            why = _proto_duration_error(info.next_retry_delay)
            if why is not None:
                raise invalid_argument(f"NextRetryDelay is not a valid duration: {why}")
        current = current.cause if current.HasField("cause") else None


def _proto_duration_error(duration: Duration) -> str | None:
    seconds, nanos = duration.seconds, duration.nanos
    if seconds < -_PROTO_DURATION_MAX_S:
        return "duration exceeds -10000 years"
    if seconds > _PROTO_DURATION_MAX_S:
        return "duration exceeds +10000 years"
    if not -(10**9) < nanos < 10**9:
        return "duration has out-of-range nanos"
    if (seconds > 0 and nanos < 0) or (seconds < 0 and nanos > 0):
        return "duration has seconds and nanos with different signs"
    return None
