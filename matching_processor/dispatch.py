"""What a matched task turns into: poll responses and the messages for history (pure, no I/O)."""

from __future__ import annotations

from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import message_pb2 as common_pb2
from temporalio.api.enums.v1 import task_queue_pb2 as tq_enums
from temporalio.api.workflowservice.v1 import request_response_pb2 as wsv1

from matching_processor.pollers import DEFAULT_RATE_PER_SECOND, PollerRecord
from matching_processor.queues import TaskRecord
from schemas.inbox import StickyWorkerUnavailable

MAX_LONG_POLL_SECONDS = 60.0
"""Temporal's long-poll expiry: a poll without a task answers empty after a minute."""

DEADLINE_MARGIN_SECONDS = 1.0
"""Answer this long before the caller's deadline so the empty response still reaches it."""


def long_poll_seconds(
    time_remaining: float | None,
    max_wait: float = MAX_LONG_POLL_SECONDS,
    margin: float = DEADLINE_MARGIN_SECONDS,
) -> float:
    """Returns how long a poll may wait for a task.

    Args:
        time_remaining: Seconds until the caller's gRPC deadline; None if it set none.
        max_wait: Cap on the wait.
        margin: Kept free before the deadline for the answer to travel back.
    """
    if time_remaining is None:
        return max_wait
    return max(0.0, min(max_wait, time_remaining - margin))


def is_sticky(task_queue: object) -> bool:
    """Whether a poll request's ``TaskQueue`` is a worker's sticky queue."""
    return getattr(task_queue, "kind", None) == tq_enums.TASK_QUEUE_KIND_STICKY


def activity_response(record: TaskRecord, now_ms: int) -> wsv1.PollActivityTaskQueueResponse:
    """Returns the poll response of an activity task, completed with what only dispatch knows.

    The record's payload is the response history prebuilt when it scheduled the activity;
    fields it left unset are filled: ``started_time`` (now), ``attempt``,
    ``current_attempt_scheduled_time`` (the record's schedule time), ``task_token``,
    ``workflow_namespace`` and ``workflow_execution``.

    Raises:
        ValueError: The payload is not a ``PollActivityTaskQueueResponse``.
    """
    response = wsv1.PollActivityTaskQueueResponse()
    try:
        response.ParseFromString(bytes(record.get("payload") or b""))
    except DecodeError as exc:
        raise ValueError(f"activity task payload is not a poll response: {exc}") from exc
    if not response.HasField("started_time"):
        response.started_time.FromMilliseconds(now_ms)
    if response.attempt == 0:
        response.attempt = max(1, int(record["attempt"]))
    if not response.HasField("current_attempt_scheduled_time"):
        response.current_attempt_scheduled_time.FromMilliseconds(int(record["schedule_time_ms"]))
    if not response.task_token:
        response.task_token = bytes(record["task_token"])
    if not response.workflow_namespace:
        response.workflow_namespace = record["namespace"]
    if not response.HasField("workflow_execution"):
        response.workflow_execution.CopyFrom(
            common_pb2.WorkflowExecution(workflow_id=record["workflow_id"], run_id=record["run_id"])
        )
    return response


def poller_record(
    poll: wsv1.PollWorkflowTaskQueueRequest | wsv1.PollActivityTaskQueueRequest, now_ms: int
) -> PollerRecord:
    """What DescribeTaskQueue shows of the worker behind a poll."""
    rate = DEFAULT_RATE_PER_SECOND
    if isinstance(poll, wsv1.PollActivityTaskQueueRequest) and poll.task_queue_metadata.HasField(
        "max_tasks_per_second"
    ):
        rate = poll.task_queue_metadata.max_tasks_per_second.value
    return PollerRecord(
        identity=poll.identity,
        last_access_ms=now_ms,
        rate_per_second=rate,
        worker_version_capabilities=(
            poll.worker_version_capabilities.SerializeToString()
            if poll.HasField("worker_version_capabilities")
            else b""
        ),
        deployment_options=(
            poll.deployment_options.SerializeToString()
            if poll.HasField("deployment_options")
            else b""
        ),
    )


def sticky_unavailable_message(record: TaskRecord) -> StickyWorkerUnavailable:
    """The message that hands a sticky workflow task without a worker back to history."""
    return StickyWorkerUnavailable(
        namespace=record["namespace"],
        workflow_id=record["workflow_id"],
        run_id=record["run_id"],
        scheduled_event_id=int(record["scheduled_event_id"]),
        attempt=int(record["attempt"]),
        task_queue=record["task_queue"],
    )
