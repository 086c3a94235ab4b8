"""Sticky queues, DescribeTaskQueue and reverse history reads, driven by the official SDK on
Strom and on the Temporal dev server."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeTaskQueueRequest,
    DescribeTaskQueueResponse,
    GetWorkflowExecutionHistoryReverseRequest,
    ResetStickyTaskQueueRequest,
)
from temporalio.client import AsyncActivityHandle, WorkflowHandle
from temporalio.worker import Worker

from tests.integration.workflows.conftest import Server
from tests.workflows.activities import greet
from tests.workflows.activity_cancellation import AsyncCompletionWorkflow
from tests.workflows.cancellable import CANCELLABLE_ACTIVITIES, INFOS, started
from tests.workflows.one_activity import OneActivityWorkflow

pytestmark = [pytest.mark.timeout(120)]

T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T]], ok: Callable[[T], bool]) -> T:
    """Polls `probe` until `ok` holds for its answer (at most 30 s)."""
    deadline = time.monotonic() + 30
    while True:
        value = await probe()
        if ok(value) or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.2)


def _worker(server: Server, task_queue: str, identity: str) -> Worker:
    return Worker(
        server.client,
        task_queue=task_queue,
        workflows=[AsyncCompletionWorkflow, OneActivityWorkflow],
        activities=[*CANCELLABLE_ACTIVITIES, greet],
        identity=identity,
    )


async def _waiting_on_activity(
    server: Server, tq: str
) -> tuple[WorkflowHandle, AsyncActivityHandle]:
    handle = await server.client.start_workflow(
        AsyncCompletionWorkflow.run, False, id=f"sticky-{uuid.uuid4()}", task_queue=tq
    )
    await asyncio.wait_for(started(handle.id).wait(), 30)
    info = INFOS[handle.id]
    activity = server.client.get_async_activity_handle(
        workflow_id=info.workflow_id, run_id=info.workflow_run_id, activity_id=info.activity_id
    )
    return handle, activity


async def _events(handle: WorkflowHandle) -> list:  # type: ignore[type-arg]
    return list((await handle.fetch_history()).events)


@pytest.mark.parametrize("reset", [False, True])
async def test_reset_sticky_sends_the_next_workflow_task_to_the_normal_queue(
    server: Server, reset: bool
) -> None:
    tq = server.task_queue()
    async with _worker(server, tq, "sticky-worker"):
        handle, activity = await _waiting_on_activity(server, tq)
        if reset:
            await server.client.workflow_service.reset_sticky_task_queue(
                ResetStickyTaskQueueRequest(
                    namespace=server.client.namespace,
                    execution=WorkflowExecution(workflow_id=handle.id),
                )
            )
        await activity.complete("done")
        assert await handle.result() == "completed: done"
        events = await _events(handle)
    kinds = [
        e.workflow_task_scheduled_event_attributes.task_queue.kind
        for e in events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED
    ]
    second = TaskQueueKind.TASK_QUEUE_KIND_NORMAL if reset else TaskQueueKind.TASK_QUEUE_KIND_STICKY
    assert kinds == [TaskQueueKind.TASK_QUEUE_KIND_NORMAL, second]


async def test_a_stopped_workers_run_moves_on_without_its_sticky_timeout(server: Server) -> None:
    tq = server.task_queue()
    async with _worker(server, tq, "first-worker"):
        handle, activity = await _waiting_on_activity(server, tq)
    # The first worker is gone (ShutdownWorker unloaded its sticky queue): the next workflow
    # task must reach the second one through the normal queue at once.
    await activity.complete("after shutdown")
    async with _worker(server, tq, "second-worker"):
        assert await asyncio.wait_for(handle.result(), 60) == "completed: after shutdown"
        events = await _events(handle)
    types = [e.event_type for e in events]
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT not in types
    last_started = [
        e.workflow_task_started_event_attributes.identity
        for e in events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
    ][-1]
    assert last_started == "second-worker"


async def _describe(server: Server, tq: str, **kw: object) -> DescribeTaskQueueResponse:
    return await server.client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=server.client.namespace,
            task_queue=TaskQueue(name=tq),
            **kw,  # type: ignore[arg-type]
        )
    )


async def test_describe_task_queue_lists_recent_pollers(server: Server) -> None:
    tq = server.task_queue()
    async with _worker(server, tq, "describe-me"):
        for kind in (
            TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        ):
            described = await eventually(
                lambda kind=kind: _describe(server, tq, task_queue_type=kind),  # type: ignore[misc]
                lambda r: any(p.identity == "describe-me" for p in r.pollers),
            )
            (poller,) = [p for p in described.pollers if p.identity == "describe-me"]
            assert abs(poller.last_access_time.ToSeconds() - time.time()) < 120
            assert poller.rate_per_second > 0


async def test_describe_task_queue_counts_the_backlog(server: Server) -> None:
    tq = server.task_queue()  # no worker polls it
    handles = [
        await server.client.start_workflow(
            OneActivityWorkflow.run, "x", id=f"backlog-{uuid.uuid4()}", task_queue=tq
        )
        for _ in range(3)
    ]
    try:
        described = await eventually(
            lambda: _describe(server, tq, report_stats=True, include_task_queue_status=True),
            lambda r: r.stats.approximate_backlog_count == 3,
        )
        assert described.stats.approximate_backlog_count == 3
        assert described.stats.approximate_backlog_age.ToMilliseconds() > 0
        # The root partition holds some of them (which ones depends on the workflow ids).
        assert 0 <= described.task_queue_status.backlog_count_hint <= 3
        assert list(described.pollers) == []
    finally:
        for handle in handles:
            await handle.terminate("test over")


async def test_reverse_history_walks_back_in_pages(server: Server) -> None:
    tq = server.task_queue()
    async with _worker(server, tq, "reverse"):
        handle = await server.client.start_workflow(
            OneActivityWorkflow.run, "S", id=f"reverse-{uuid.uuid4()}", task_queue=tq
        )
        await handle.result()
    forward = [e.event_id for e in await _events(handle)]
    pages: list[list[int]] = []
    token = b""
    while True:
        page = await server.client.workflow_service.get_workflow_execution_history_reverse(
            GetWorkflowExecutionHistoryReverseRequest(
                namespace=server.client.namespace,
                execution=WorkflowExecution(workflow_id=handle.id),
                maximum_page_size=3,
                next_page_token=token,
            )
        )
        pages.append([e.event_id for e in page.history.events])
        token = page.next_page_token
        if not token:
            break
    assert [i for page in pages for i in page] == list(reversed(forward))
    assert len(pages) > 1 and all(pages)
