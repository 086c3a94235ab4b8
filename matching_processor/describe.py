"""DescribeTaskQueue as one matching process sees it (pure: queues and pollers in, proto out).

Temporal's legacy describe reports one partition: the root partition for a plain name, the
named one for ``/_sys/<name>/<n>``, the only one of a sticky queue. Its pollers and its
backlog (``task_queue_status.backlog_count_hint``) are that partition's; ``report_stats``
adds the backlog of all partitions of the queue (``stats``). A queue's partitions may live in
several matching processes: each answers for what it holds and the client adds the answers
up (`schemas.clients.matching.merge_descriptions`).
"""

from __future__ import annotations

from temporalio.api.enums.v1 import TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import PollerInfo, TaskQueueStats, TaskQueueStatus
from temporalio.api.workflowservice.v1 import (
    DescribeTaskQueueRequest,
    DescribeTaskQueueResponse,
)

from matching_processor.pollers import PollerHistory, PollerRecord
from matching_processor.queues import QueueKey, TaskQueues
from matching_processor.routing import poll_keys
from schemas.placement import ACTIVITY, DEFAULT_TQ_PARTITIONS, WORKFLOW, parse_partitioned_name

DEFAULT_PRIORITY_KEY = 3
"""Temporal's priority key of tasks without a priority (stats_by_priority_key)."""


def described_keys(
    request: DescribeTaskQueueRequest, n_tq_partitions: int = DEFAULT_TQ_PARTITIONS
) -> tuple[QueueKey, tuple[QueueKey, ...]]:
    """(the partition described, all partitions of its queue) for a request."""
    kind = (
        ACTIVITY if request.task_queue_type == TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY else WORKFLOW
    )
    sticky = request.task_queue.kind == TaskQueueKind.TASK_QUEUE_KIND_STICKY
    name = request.task_queue.name
    if sticky:
        key = QueueKey(request.namespace, name, kind, 0)
        return key, (key,)
    base, index = parse_partitioned_name(name)
    whole = poll_keys(request.namespace, base, kind, False, n_tq_partitions)
    return QueueKey(request.namespace, base, kind, index or 0), whole


def poller_info(poller: PollerRecord) -> PollerInfo:
    """The PollerInfo of one recorded poller."""
    info = PollerInfo(identity=poller.identity, rate_per_second=poller.rate_per_second)
    info.last_access_time.FromMilliseconds(poller.last_access_ms)
    if poller.worker_version_capabilities:
        info.worker_version_capabilities.ParseFromString(poller.worker_version_capabilities)
    if poller.deployment_options:
        info.deployment_options.ParseFromString(poller.deployment_options)
    return info


def describe_local(
    queues: TaskQueues,
    pollers: PollerHistory,
    request: DescribeTaskQueueRequest,
    now_ms: int,
    n_tq_partitions: int = DEFAULT_TQ_PARTITIONS,
) -> DescribeTaskQueueResponse:
    """What this process knows of the described partition (see the module docstring)."""
    key, whole = described_keys(request, n_tq_partitions)
    response = DescribeTaskQueueResponse(
        pollers=[poller_info(p) for p in pollers.pollers(key, now_ms)]
    )
    if request.include_task_queue_status:
        response.task_queue_status.CopyFrom(
            TaskQueueStatus(backlog_count_hint=queues.backlog_len(key))
        )
    if request.report_stats:
        stats = TaskQueueStats(approximate_backlog_count=sum(queues.backlog_len(k) for k in whole))
        oldest = [t for k in whole if (t := queues.oldest_schedule_ms(k)) is not None]
        stats.approximate_backlog_age.FromMilliseconds(
            max(0, now_ms - min(oldest)) if oldest else 0
        )
        response.stats.CopyFrom(stats)
        response.stats_by_priority_key[DEFAULT_PRIORITY_KEY].CopyFrom(stats)
    return response
