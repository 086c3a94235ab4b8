"""Workflow cancellation through the official SDK, on Strom and on the dev server."""

from __future__ import annotations

import concurrent.futures
import uuid

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import CancelledError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from helpers import eventually_async
from tests.golden.signal_scenarios import completed_tasks
from tests.integration.workflows.conftest import Server
from tests.workflows.activities import ALL_ACTIVITIES
from tests.workflows.cancellation import CleanupOnCancelWorkflow, WaitForCancelWorkflow

pytestmark = [pytest.mark.timeout(120)]

_CANCEL_REQUESTED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED


@pytest.fixture(scope="module")
def executor() -> concurrent.futures.Iterator[concurrent.futures.ThreadPoolExecutor]:
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        yield pool


def worker(server: Server, task_queue: str, executor: concurrent.futures.Executor) -> Worker:
    return Worker(
        server.client,
        task_queue=task_queue,
        workflows=[WaitForCancelWorkflow, CleanupOnCancelWorkflow],
        activities=ALL_ACTIVITIES,
        activity_executor=executor,
    )


async def test_a_cancelled_workflow_ends_canceled_in_describe_and_list(
    server: Server, executor: concurrent.futures.Executor
) -> None:
    tq = server.task_queue()
    workflow_id = f"cancel-{uuid.uuid4()}"
    async with worker(server, tq, executor):
        handle = await server.client.start_workflow(
            WaitForCancelWorkflow.run, "x", id=workflow_id, task_queue=tq
        )
        await completed_tasks(handle, 1)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as raised:
            await handle.result()
    assert isinstance(raised.value.cause, CancelledError)
    description = await handle.describe()
    assert description.status == WorkflowExecutionStatus.CANCELED
    assert description.close_time is not None
    history = await handle.fetch_history()
    assert history.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED
    query = f"WorkflowId = '{workflow_id}' AND ExecutionStatus = 'Canceled'"

    async def listed() -> list[WorkflowExecutionStatus | None]:
        return [wf.status async for wf in server.client.list_workflows(query)]

    assert await eventually_async(listed, timeout=30) == [WorkflowExecutionStatus.CANCELED]


async def test_a_workflow_that_catches_the_cancel_cleans_up_and_completes(
    server: Server, executor: concurrent.futures.Executor
) -> None:
    tq = server.task_queue()
    async with worker(server, tq, executor):
        handle = await server.client.start_workflow(
            CleanupOnCancelWorkflow.run, "x", id=f"cleanup-{uuid.uuid4()}", task_queue=tq
        )
        await completed_tasks(handle, 1)
        await handle.cancel()
        assert await handle.result() == "cancelled, then: Hello, cleanup of x!"
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
    types = [e.event_type for e in (await handle.fetch_history()).events]
    assert types.index(_CANCEL_REQUESTED) < types.index(
        EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    )


async def test_cancel_before_the_first_task_runs(
    server: Server, executor: concurrent.futures.Executor
) -> None:
    tq = server.task_queue()
    handle = await server.client.start_workflow(
        WaitForCancelWorkflow.run, "x", id=f"early-cancel-{uuid.uuid4()}", task_queue=tq
    )
    await handle.cancel()
    async with worker(server, tq, executor):
        with pytest.raises(WorkflowFailureError) as raised:
            await handle.result()
    assert isinstance(raised.value.cause, CancelledError)
    types = [e.event_type for e in (await handle.fetch_history()).events]
    assert types[:3] == [
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        _CANCEL_REQUESTED,
    ]


async def test_repeated_and_late_cancels_are_quiet_successes(server: Server) -> None:
    tq = server.task_queue()
    handle = await server.client.start_workflow(
        WaitForCancelWorkflow.run, "x", id=f"recancel-{uuid.uuid4()}", task_queue=tq
    )
    for _ in range(3):
        await handle.cancel()
    types = [e.event_type for e in (await handle.fetch_history()).events]
    assert types.count(_CANCEL_REQUESTED) == 1
    await handle.terminate("test over")
    await handle.cancel()  # a closed run: Temporal answers success and writes nothing
    assert (await handle.describe()).status == WorkflowExecutionStatus.TERMINATED


async def test_cancel_of_an_unknown_workflow_is_not_found(server: Server) -> None:
    with pytest.raises(RPCError) as raised:
        await server.client.get_workflow_handle(f"nobody-{uuid.uuid4()}").cancel()
    assert raised.value.status == RPCStatusCode.NOT_FOUND
