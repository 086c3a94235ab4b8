"""Workflows with activities, run by the official SDK on Strom and on the Temporal dev server."""

from __future__ import annotations

import asyncio
import concurrent.futures
import uuid

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.worker import Worker

from tests.integration.workflows.conftest import Server
from tests.workflows.activities import ALL_ACTIVITIES
from tests.workflows.one_activity import OneActivityWorkflow
from tests.workflows.parallel_activities import ParallelActivitiesWorkflow
from tests.workflows.retries_exhausted import RetriesExhaustedWorkflow
from tests.workflows.retry_activity import RetryActivityWorkflow
from tests.workflows.sync_activity import SyncActivityWorkflow

WORKFLOWS = [
    OneActivityWorkflow,
    ParallelActivitiesWorkflow,
    RetryActivityWorkflow,
    RetriesExhaustedWorkflow,
    SyncActivityWorkflow,
]

pytestmark = [pytest.mark.timeout(120)]


def worker(server: Server, task_queue: str, executor: concurrent.futures.Executor) -> Worker:
    return Worker(
        server.client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=ALL_ACTIVITIES,
        activity_executor=executor,
    )


@pytest.fixture(scope="module")
def executor() -> concurrent.futures.Iterator[concurrent.futures.ThreadPoolExecutor]:
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        yield pool


async def test_one_activity(server: Server, executor: concurrent.futures.Executor) -> None:
    tq = server.task_queue()
    async with worker(server, tq, executor):
        handle = await server.client.start_workflow(
            OneActivityWorkflow.run, "Strom", id=f"one-{uuid.uuid4()}", task_queue=tq
        )
        assert await handle.result() == "Hello, Strom!"
        events = [e.event_type for e in (await handle.fetch_history()).events]
    assert events == [
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    ]


async def test_parallel_activities(server: Server, executor: concurrent.futures.Executor) -> None:
    tq = server.task_queue()
    async with worker(server, tq, executor):
        result = await server.client.execute_workflow(
            ParallelActivitiesWorkflow.run, "S", id=f"par-{uuid.uuid4()}", task_queue=tq
        )
    assert result == "Hello, S-0! Hello, S-1! Hello, S-2!"


async def test_sync_activity(server: Server, executor: concurrent.futures.Executor) -> None:
    tq = server.task_queue()
    async with worker(server, tq, executor):
        result = await server.client.execute_workflow(
            SyncActivityWorkflow.run, "S", id=f"sync-{uuid.uuid4()}", task_queue=tq
        )
    assert result == "Hello from a thread, S!"


async def test_activity_failing_twice_then_succeeding(
    server: Server, executor: concurrent.futures.Executor
) -> None:
    tq = server.task_queue()
    async with worker(server, tq, executor):
        handle = await server.client.start_workflow(
            RetryActivityWorkflow.run, "S", id=f"retry-{uuid.uuid4()}", task_queue=tq
        )
        assert await handle.result() == "Hello, S! (attempt 3)"
        history = await handle.fetch_history()
    started = [
        e.activity_task_started_event_attributes
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
    ]
    # Retries leave no events: one started event, carrying the attempt and last failure.
    assert len(started) == 1
    assert started[0].attempt == 3
    assert started[0].last_failure.message == "flaky failure on attempt 2"


async def test_retries_exhausted_fail_the_workflow_with_the_failure_chain(
    server: Server, executor: concurrent.futures.Executor
) -> None:
    tq = server.task_queue()
    async with worker(server, tq, executor):
        handle = await server.client.start_workflow(
            RetriesExhaustedWorkflow.run, "S", id=f"fail-{uuid.uuid4()}", task_queue=tq
        )
        with pytest.raises(WorkflowFailureError) as raised:
            await handle.result()
    activity_error = raised.value.cause
    assert isinstance(activity_error, ActivityError)
    assert activity_error.retry_state is not None
    app_error = activity_error.cause
    assert isinstance(app_error, ApplicationError)
    assert app_error.message == "cannot greet S"
    assert app_error.type == "AlwaysFails"


@pytest.mark.timeout(300)
async def test_two_hundred_concurrent_workflows(
    server: Server, executor: concurrent.futures.Executor
) -> None:
    tq = server.task_queue()
    async with worker(server, tq, executor):
        handles = await asyncio.gather(
            *(
                server.client.start_workflow(
                    OneActivityWorkflow.run, f"n{i}", id=f"many-{uuid.uuid4()}", task_queue=tq
                )
                for i in range(200)
            )
        )
        results = await asyncio.gather(*(h.result() for h in handles))
    assert results == [f"Hello, n{i}!" for i in range(200)]
