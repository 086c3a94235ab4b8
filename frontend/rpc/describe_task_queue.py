"""DescribeTaskQueue: recent pollers and backlog of a task-queue partition, from matching."""

from __future__ import annotations

import time

import grpc
from temporalio.api.enums.v1 import DescribeTaskQueueMode, TaskQueueKind, TaskQueueType
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest, DescribeTaskQueueResponse

from frontend import validation
from frontend.context import Call, Env, require_namespace
from frontend.errors import ServiceError, invalid_argument

_ROOT_ONLY_STATS = "DescribeTaskQueue stats are only supported for the root partition"


def _validate_task_queue(request: DescribeTaskQueueRequest, limit: int) -> None:
    """Temporal's NormalizeAndValidatePartition: a set, named queue (partition names allowed),
    kind NORMAL when unset."""
    if not request.HasField("task_queue"):
        raise invalid_argument("taskQueue is not set")
    queue = request.task_queue
    if queue.kind == TaskQueueKind.TASK_QUEUE_KIND_UNSPECIFIED:
        queue.kind = TaskQueueKind.TASK_QUEUE_KIND_NORMAL
    if not queue.name:
        raise invalid_argument("missing task queue name")
    validation.validate_length(queue.name, limit, "taskQueue length exceeds limit")


async def handle(
    env: Env, request: DescribeTaskQueueRequest, call: Call
) -> DescribeTaskQueueResponse:
    """Describes one partition (the root one for a plain name) in Temporal's legacy mode.

    Pollers seen within five minutes with their identity and last access time; with
    ``include_task_queue_status`` the partition's backlog; with ``report_stats`` the backlog
    of the whole queue and its oldest task's age. The enhanced mode (deprecated in Temporal,
    answered from worker-versioning data Strom does not keep) is UNIMPLEMENTED.
    """
    require_namespace(env, request.namespace)
    _validate_task_queue(request, env.config.max_id_length)
    if request.api_mode == DescribeTaskQueueMode.DESCRIBE_TASK_QUEUE_MODE_ENHANCED:
        raise ServiceError(
            grpc.StatusCode.UNIMPLEMENTED,
            "Strom does not support DescribeTaskQueue's enhanced mode",
        )
    if request.task_queue_type == TaskQueueType.TASK_QUEUE_TYPE_UNSPECIFIED:
        request.task_queue_type = TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW
    if request.report_stats and request.task_queue.name.startswith(
        validation.RESERVED_TASK_QUEUE_PREFIX
    ):
        partition = request.task_queue.name.rsplit("/", 1)[-1]
        if partition != "0":
            raise invalid_argument(_ROOT_ONLY_STATS)
    deadline = time.monotonic() + call.bound(env.config.history_timeout_s)
    return await env.matching.describe_task_queue(request, deadline)
