"""Pollers, DescribeTaskQueue, ShutdownWorker's sticky unload and sticky tasks without a worker."""

from __future__ import annotations

import asyncio
from typing import Any

from google.protobuf.wrappers_pb2 import DoubleValue
from temporalio.api.common.v1 import message_pb2 as common_pb2
from temporalio.api.enums.v1 import TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb2
from temporalio.api.workflowservice.v1 import request_response_pb2 as wsv1

import schemas
from matching_processor.consumer import RawTask
from matching_processor.dispatcher import Dispatcher
from matching_processor.pollers import (
    POLLER_HISTORY_TTL_MS,
    STICKY_UNAVAILABLE_AFTER_MS,
    PollerHistory,
    PollerRecord,
)
from matching_processor.queues import QueueKey, TaskQueues
from schemas.clients.matching import merge_descriptions
from schemas.inbox import StickyWorkerUnavailable
from tests.unit.matching.test_matching_dispatcher import ScriptedHistory, until

NS, Q, STICKY = "default", "orders", "host-1-sticky"
NOW = 1_700_000_000_000


class Clock:
    def __init__(self) -> None:
        self.ms = NOW

    def __call__(self) -> int:
        return self.ms


def make() -> tuple[Dispatcher, Clock, list[StickyWorkerUnavailable]]:
    clock = Clock()
    redirected: list[StickyWorkerUnavailable] = []
    dispatcher = Dispatcher(
        TaskQueues(lambda key: 0),
        ScriptedHistory(),
        clock=clock,
        on_sticky_unavailable=redirected.append,
    )
    return dispatcher, clock, redirected


def task(offset: int, queue: str = Q, kind: str = "normal", tq_partition: int = 0) -> RawTask:
    value = schemas.encode(
        schemas.TASK_RECORD,
        {
            "task_kind": "workflow",
            "namespace": NS,
            "task_queue": queue,
            "task_queue_kind": kind,
            "task_queue_partition": tq_partition,
            "workflow_id": f"wf-{offset}",
            "run_id": "run",
            "scheduled_event_id": 7,
            "attempt": 1,
            "task_token": f"wf-{offset}".encode(),
            "schedule_time_ms": NOW - 3000 + offset,
            "schedule_to_start_timeout_ms": 0,
            "payload": b"",
        },
    )
    return RawTask(0, offset, value)


def poll(queue: str = Q, identity: str = "worker-a", sticky: bool = False) -> Any:
    kind = TaskQueueKind.TASK_QUEUE_KIND_STICKY if sticky else TaskQueueKind.TASK_QUEUE_KIND_NORMAL
    return wsv1.PollWorkflowTaskQueueRequest(
        namespace=NS,
        task_queue=tq_pb2.TaskQueue(name=queue, kind=kind),
        identity=identity,
        worker_version_capabilities=common_pb2.WorkerVersionCapabilities(build_id="b-1"),
    )


def describe(queue: str = Q, **kw: Any) -> wsv1.DescribeTaskQueueRequest:
    kw.setdefault("task_queue_type", TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW)
    return wsv1.DescribeTaskQueueRequest(
        namespace=NS, task_queue=tq_pb2.TaskQueue(name=queue), **kw
    )


def test_poller_history_keeps_the_latest_poll_per_identity_until_the_ttl() -> None:
    history = PollerHistory()
    key = QueueKey(NS, Q, "workflow", 0)
    history.record([key], PollerRecord("a", NOW))
    history.record([key], PollerRecord("b", NOW + 10))
    history.record([key], PollerRecord("a", NOW + 20))
    history.record([key], PollerRecord("", NOW + 30))  # anonymous polls are not listed
    assert [(p.identity, p.last_access_ms) for p in history.pollers(key, NOW + 30)] == [
        ("a", NOW + 20),
        ("b", NOW + 10),
    ]
    assert history.last_access_ms(key) == NOW + 20
    assert [p.identity for p in history.pollers(key, NOW + 15 + POLLER_HISTORY_TTL_MS)] == ["a"]
    history.forget(key)
    assert history.last_access_ms(key) is None


async def test_describe_lists_pollers_and_the_root_partitions_backlog() -> None:
    d, clock, _ = make()
    response = await d.poll_workflow_task(poll(), 0)  # nothing there: it ends at once
    assert not response.task_token
    d.on_records([task(0, tq_partition=0), task(1, tq_partition=1), task(2, tq_partition=0)])
    clock.ms += 1000
    described = d.describe(describe(include_task_queue_status=True, report_stats=True))
    (poller,) = described.pollers
    assert (poller.identity, poller.rate_per_second) == ("worker-a", 100_000.0)
    assert poller.last_access_time.ToMilliseconds() == NOW
    assert poller.worker_version_capabilities.build_id == "b-1"
    assert described.task_queue_status.backlog_count_hint == 2  # partition 0 only
    assert described.stats.approximate_backlog_count == 3  # the whole queue
    assert described.stats.approximate_backlog_age.ToMilliseconds() == 4000
    assert described.stats_by_priority_key[3] == described.stats
    other = d.describe(describe(f"/_sys/{Q}/1", include_task_queue_status=True))
    assert other.task_queue_status.backlog_count_hint == 1
    plain = d.describe(describe())
    assert not plain.HasField("task_queue_status") and not plain.HasField("stats")
    activity = d.describe(describe(task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY))
    assert list(activity.pollers) == []


async def test_activity_poller_reports_its_rate_limit() -> None:
    d, _, _ = make()
    request = wsv1.PollActivityTaskQueueRequest(
        namespace=NS,
        task_queue=tq_pb2.TaskQueue(name=Q),
        identity="act-worker",
        task_queue_metadata=tq_pb2.TaskQueueMetadata(max_tasks_per_second=DoubleValue(value=5)),
    )
    await d.poll_activity_task(request, 0)
    described = d.describe(describe(task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY))
    assert [(p.identity, p.rate_per_second) for p in described.pollers] == [("act-worker", 5.0)]


async def test_shutdown_worker_ends_the_sticky_polls_and_forgets_the_worker() -> None:
    d, _, redirected = make()
    waiting = asyncio.create_task(d.poll_workflow_task(poll(STICKY, sticky=True), 30))
    normal = asyncio.create_task(d.poll_workflow_task(poll(), 30))
    await until(lambda: d.waiting_polls(NS, Q, "workflow") == 1)
    await asyncio.sleep(0.01)
    assert d.release_sticky_queue(NS, STICKY) == 1
    response = await asyncio.wait_for(waiting, 1)
    assert not response.task_token
    assert not normal.done()  # only the sticky queue's polls end
    # The sticky queue has no worker now: its next task goes back to history.
    d.on_records([task(0, STICKY, "sticky")])
    assert [m.task_queue for m in redirected] == [STICKY]
    assert d.watermarks() == {0: 1}  # nothing of it is left to dispatch
    normal.cancel()
    await asyncio.gather(normal, return_exceptions=True)


async def test_sticky_tasks_stay_while_the_worker_polls_or_polled_lately() -> None:
    d, clock, redirected = make()
    waiting = asyncio.create_task(d.poll_workflow_task(poll(STICKY, sticky=True), 30))
    await asyncio.sleep(0.01)
    d.on_records([task(0, STICKY, "sticky")])  # sync match with the waiting poll
    response = await asyncio.wait_for(waiting, 1)
    assert response.task_token == b"wf-0"
    clock.ms += STICKY_UNAVAILABLE_AFTER_MS - 1
    d.on_records([task(1, STICKY, "sticky")])  # polled lately: stays in the backlog
    assert redirected == []
    clock.ms += 1
    d.on_records([task(2, STICKY, "sticky")])
    (message,) = redirected
    assert (message.workflow_id, message.scheduled_event_id, message.attempt) == ("wf-2", 7, 1)


def test_merge_adds_up_the_members_answers() -> None:
    a = wsv1.DescribeTaskQueueResponse(
        pollers=[tq_pb2.PollerInfo(identity="w1", rate_per_second=1)],
        task_queue_status=tq_pb2.TaskQueueStatus(backlog_count_hint=2),
        stats=tq_pb2.TaskQueueStats(approximate_backlog_count=2),
    )
    a.pollers[0].last_access_time.FromMilliseconds(NOW)
    a.stats.approximate_backlog_age.FromMilliseconds(500)
    b = wsv1.DescribeTaskQueueResponse(
        pollers=[tq_pb2.PollerInfo(identity="w1", rate_per_second=2)],
        task_queue_status=tq_pb2.TaskQueueStatus(backlog_count_hint=0),
        stats=tq_pb2.TaskQueueStats(approximate_backlog_count=5),
    )
    b.pollers[0].last_access_time.FromMilliseconds(NOW + 5)
    b.stats.approximate_backlog_age.FromMilliseconds(900)
    merged = merge_descriptions([a, b])
    assert [(p.identity, p.rate_per_second) for p in merged.pollers] == [("w1", 2.0)]
    assert merged.task_queue_status.backlog_count_hint == 2
    assert merged.stats.approximate_backlog_count == 7
    assert merged.stats.approximate_backlog_age.ToMilliseconds() == 900
    assert merge_descriptions([]) == wsv1.DescribeTaskQueueResponse()
