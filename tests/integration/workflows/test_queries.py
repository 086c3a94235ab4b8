"""Queries, driven by the official SDK on Strom and on the dev server.

A query never writes an event: every test that queries a running workflow also checks that
the history did not change. The workflow (`QueriedWorkflow`) waits at a gate the test opens.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.command.v1 import (
    Command,
    CompleteWorkflowExecutionCommandAttributes,
    ScheduleActivityTaskCommandAttributes,
)
from temporalio.api.common.v1 import ActivityType, Payload, Payloads, WorkflowType
from temporalio.api.enums.v1 import CommandType, EventType, QueryResultType
from temporalio.api.query.v1 import WorkflowQueryResult
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import request_response_pb2 as wsv1
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
)
from temporalio.common import QueryRejectCondition, WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode, WorkflowService
from temporalio.worker import Worker

from helpers import eventually_async
from tests.integration.workflows.conftest import Server
from tests.workflows import gates
from tests.workflows.queries import QueriedWorkflow

pytestmark = [pytest.mark.timeout(120)]

_NOT_OPEN = QueryRejectCondition.NOT_OPEN
_NOT_COMPLETED_CLEANLY = QueryRejectCondition.NOT_COMPLETED_CLEANLY


def workflow_worker(client: Client, tq: str, **kwargs: object) -> Worker:
    return Worker(client, task_queue=tq, workflows=[QueriedWorkflow], **kwargs)  # type: ignore[arg-type]


def activity_worker(client: Client, tq: str) -> Worker:
    return Worker(client, task_queue=tq, activities=[gates.wait_for_gate])


def full_worker(client: Client, tq: str) -> Worker:
    return Worker(
        client, task_queue=tq, workflows=[QueriedWorkflow], activities=[gates.wait_for_gate]
    )


async def start(
    client: Client, tq: str, hold_seconds: float = 0.0
) -> tuple[WorkflowHandle[QueriedWorkflow, list[str]], str]:
    gate = f"gate-{uuid.uuid4()}"
    handle = await client.start_workflow(
        QueriedWorkflow.run,
        args=[gate, hold_seconds],
        id=f"queried-{uuid.uuid4()}",
        task_queue=tq,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )
    return handle, gate


async def event_types(handle: WorkflowHandle[QueriedWorkflow, list[str]]) -> list[int]:
    return [e.event_type for e in (await handle.fetch_history()).events]


async def activity_started(handle: WorkflowHandle[QueriedWorkflow, list[str]]) -> bool:
    # Activity starts are written when the attempt ends; the scheduled event is what shows.
    return EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED in await event_types(handle)


async def test_query_running_workflow_on_its_sticky_worker(server: Server) -> None:
    tq = server.task_queue()
    async with full_worker(server.client, tq):
        handle, gate = await start(server.client, tq)
        await eventually_async(lambda: activity_started(handle), timeout=30)
        before = await event_types(handle)
        for _ in range(3):
            assert await handle.query(QueriedWorkflow.progress) == ["started"]
        assert await event_types(handle) == before
        gates.open_gate(gate)
        assert await handle.result() == ["started", "gate opened"]
        assert await handle.query(QueriedWorkflow.progress) == ["started", "gate opened"]


async def test_query_after_the_sticky_worker_went_away(server: Server) -> None:
    tq = server.task_queue()
    async with activity_worker(server.client, tq):
        first = workflow_worker(
            server.client, tq, sticky_queue_schedule_to_start_timeout=timedelta(seconds=1)
        )
        async with first:
            handle, gate = await start(server.client, tq)
            await eventually_async(lambda: activity_started(handle), timeout=30)
            assert await handle.query(QueriedWorkflow.progress) == ["started"]
        before = await event_types(handle)
        # A worker without the run in its cache answers from the full history it replays.
        async with workflow_worker(server.client, tq):
            assert await handle.query(QueriedWorkflow.progress) == ["started"]
            assert await event_types(handle) == before
            gates.open_gate(gate)
            assert await handle.result() == ["started", "gate opened"]


async def test_query_while_a_workflow_task_is_in_flight(server: Server) -> None:
    tq = server.task_queue()
    async with full_worker(server.client, tq):
        handle, gate = await start(server.client, tq, hold_seconds=1.5)
        await eventually_async(lambda: activity_started(handle), timeout=30)
        gates.open_gate(gate)

        async def task_in_flight() -> bool:
            types = await event_types(handle)
            completed = types.index(EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
            return types[-1] == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED and (
                len(types) - 1 > completed
            )

        await eventually_async(task_in_flight, timeout=30, retry_on=(ValueError,), interval=0.01)
        # The query waits for the task and sees the state it leaves, not the one before it.
        assert await handle.query(QueriedWorkflow.progress) == ["started", "gate opened"]
        assert await handle.result() == ["started", "gate opened"]


async def test_query_sent_before_any_worker_waits_for_the_first_task(server: Server) -> None:
    tq = server.task_queue()
    handle, gate = await start(server.client, tq)
    query = asyncio.ensure_future(
        handle.query(QueriedWorkflow.progress, rpc_timeout=timedelta(seconds=30))
    )
    try:
        await asyncio.sleep(1)
        assert not query.done()
        async with full_worker(server.client, tq):
            assert await query == ["started"]
            gates.open_gate(gate)
            await handle.result()
    finally:
        query.cancel()


async def test_query_completed_workflow_and_reject_conditions(server: Server) -> None:
    tq = server.task_queue()
    async with full_worker(server.client, tq):
        handle, gate = await start(server.client, tq)
        gates.open_gate(gate)
        assert await handle.result() == ["started", "gate opened"]
        assert await handle.query(QueriedWorkflow.progress) == ["started", "gate opened"]
        answer = await handle.query(
            QueriedWorkflow.progress, reject_condition=_NOT_COMPLETED_CLEANLY
        )
        assert answer == ["started", "gate opened"]
        with pytest.raises(WorkflowQueryRejectedError) as rejected:
            await handle.query(QueriedWorkflow.progress, reject_condition=_NOT_OPEN)
        assert rejected.value.status is not None and rejected.value.status.name == "COMPLETED"
    # A fresh worker has nothing cached: it replays the closed run from the normal queue.
    async with full_worker(server.client, tq):
        assert await handle.query(QueriedWorkflow.progress) == ["started", "gate opened"]


async def test_reject_conditions_of_a_terminated_workflow(server: Server) -> None:
    tq = server.task_queue()
    async with full_worker(server.client, tq):
        handle, _ = await start(server.client, tq)
        await eventually_async(lambda: activity_started(handle), timeout=30)
        await handle.terminate("enough")
        for condition in (_NOT_OPEN, _NOT_COMPLETED_CLEANLY):
            with pytest.raises(WorkflowQueryRejectedError) as rejected:
                await handle.query(QueriedWorkflow.progress, reject_condition=condition)
            status = rejected.value.status
            assert status is not None and status.name == "TERMINATED"
        assert await handle.query(QueriedWorkflow.progress) == ["started"]


async def test_failing_query_handler_and_unknown_query_type(server: Server) -> None:
    tq = server.task_queue()
    async with full_worker(server.client, tq):
        handle, gate = await start(server.client, tq)
        await eventually_async(lambda: activity_started(handle), timeout=30)
        before = await event_types(handle)
        with pytest.raises(WorkflowQueryFailedError) as failed:
            await handle.query(QueriedWorkflow.broken)
        assert str(failed.value) == "the query handler failed"
        with pytest.raises(WorkflowQueryFailedError) as unknown:
            await handle.query("no-such-query")
        assert str(unknown.value).startswith(
            "Query handler for 'no-such-query' expected but not found, known queries: ["
        )
        assert "broken progress" in str(unknown.value)
        assert await event_types(handle) == before
        gates.open_gate(gate)
        await handle.result()


async def test_stack_trace_query(server: Server) -> None:
    tq = server.task_queue()
    async with full_worker(server.client, tq):
        handle, gate = await start(server.client, tq)
        await eventually_async(lambda: activity_started(handle), timeout=30)
        trace = await handle.query("__stack_trace")
        # The SDK lists the workflow's pending tasks: here the activity the run awaits.
        assert trace.startswith("Stack for <")
        assert f"activity: wait_for_gate (workflow: QueriedWorkflow, id: {handle.id}" in trace
        gates.open_gate(gate)
        await handle.result()


async def test_query_without_a_worker_times_out(server: Server) -> None:
    tq = server.task_queue()
    async with full_worker(server.client, tq):
        handle, gate = await start(server.client, tq)
        gates.open_gate(gate)
        await handle.result()
    with pytest.raises(RPCError) as err:
        await handle.query(QueriedWorkflow.progress, rpc_timeout=timedelta(seconds=1))
    # The server's DEADLINE_EXCEEDED, or the client's own timeout if it fired first.
    status, message = err.value.status, str(err.value).lower()
    assert status == RPCStatusCode.DEADLINE_EXCEEDED or (
        status == RPCStatusCode.CANCELLED and ("timeout" in message or "http2" in message)
    )


async def test_query_of_a_workflow_closed_before_its_first_task(server: Server) -> None:
    handle, _ = await start(server.client, server.task_queue())
    await handle.terminate("before any worker")
    with pytest.raises(RPCError) as err:
        await handle.query(QueriedWorkflow.progress, rpc_timeout=timedelta(seconds=5))
    assert err.value.status == RPCStatusCode.FAILED_PRECONDITION
    assert err.value.message == "Workflow execution closed before WorkflowTaskStarted event"


async def test_query_buffered_during_a_task_rides_the_next_task(server: Server) -> None:
    """Temporal's consistent query, seen from the worker's side of the protocol.

    A query that arrives while a workflow task is started waits. That task's completion
    makes a new task (an event came in meanwhile), so the query is not sent to the worker on
    its own: it comes in the next task's ``queries`` and its answer in ``query_results``
    is what the caller gets.
    """
    svc, tq = server.client.workflow_service, server.task_queue()
    workflow_id = f"raw-query-{uuid.uuid4()}"
    await svc.start_workflow_execution(
        wsv1.StartWorkflowExecutionRequest(
            namespace=NAMESPACE,
            workflow_id=workflow_id,
            workflow_type=WorkflowType(name="RawQueried"),
            task_queue=TaskQueue(name=tq),
            request_id=str(uuid.uuid4()),
        )
    )
    first = await poll_workflow_task(svc, tq)
    await svc.respond_workflow_task_completed(
        wsv1.RespondWorkflowTaskCompletedRequest(
            namespace=NAMESPACE,
            task_token=first.task_token,
            commands=[schedule_activity(tq, "a1"), schedule_activity(tq, "a2")],
        )
    )
    one, two = await poll_activity_task(svc, tq), await poll_activity_task(svc, tq)
    await complete_activity(svc, one)
    second = await poll_workflow_task(svc, tq)
    query = asyncio.ensure_future(
        server.client.get_workflow_handle(workflow_id).query(
            "status", rpc_timeout=timedelta(seconds=20)
        )
    )
    await asyncio.sleep(0.5)
    assert not query.done()
    await complete_activity(svc, two)  # buffered: a task is started
    await svc.respond_workflow_task_completed(
        wsv1.RespondWorkflowTaskCompletedRequest(namespace=NAMESPACE, task_token=second.task_token)
    )
    third = await poll_workflow_task(svc, tq)
    assert not second.queries
    assert [q.query_type for q in third.queries.values()] == ["status"]
    assert not third.query.query_type
    (query_id,) = third.queries
    answer = WorkflowQueryResult(
        result_type=QueryResultType.QUERY_RESULT_TYPE_ANSWERED,
        answer=Payloads(
            payloads=[Payload(metadata={"encoding": b"json/plain"}, data=b'"both done"')]
        ),
    )
    await svc.respond_workflow_task_completed(
        wsv1.RespondWorkflowTaskCompletedRequest(
            namespace=NAMESPACE,
            task_token=third.task_token,
            query_results={query_id: answer},
            commands=[complete_workflow()],
        )
    )
    assert await query == "both done"


async def test_query_buffered_during_a_task_goes_to_the_worker_after_it(server: Server) -> None:
    """A query that arrives while a task is started, when the completion makes no new task:
    the worker gets it as a query task of its own, with the whole history (no sticky queue),
    and its failed answer is the caller's QueryFailed."""
    svc, tq = server.client.workflow_service, server.task_queue()
    workflow_id = f"raw-query-{uuid.uuid4()}"
    await svc.start_workflow_execution(
        wsv1.StartWorkflowExecutionRequest(
            namespace=NAMESPACE,
            workflow_id=workflow_id,
            workflow_type=WorkflowType(name="RawQueried"),
            task_queue=TaskQueue(name=tq),
            request_id=str(uuid.uuid4()),
        )
    )
    first = await poll_workflow_task(svc, tq)
    handle = server.client.get_workflow_handle(workflow_id)
    query = asyncio.ensure_future(handle.query("status", rpc_timeout=timedelta(seconds=20)))
    await asyncio.sleep(0.5)
    await svc.respond_workflow_task_completed(
        wsv1.RespondWorkflowTaskCompletedRequest(
            namespace=NAMESPACE, task_token=first.task_token, commands=[schedule_activity(tq, "a")]
        )
    )
    task = await poll_workflow_task(svc, tq)
    assert task.query.query_type == "status"
    assert not task.queries
    assert (task.started_event_id, task.attempt, task.previous_started_event_id) == (0, 1, 3)
    assert [e.event_id for e in task.history.events] == [1, 2, 3, 4, 5]
    assert task.workflow_type.name == "RawQueried"
    assert task.workflow_execution.workflow_id == workflow_id
    assert task.workflow_execution_task_queue.name == tq
    await svc.respond_query_task_completed(
        wsv1.RespondQueryTaskCompletedRequest(
            namespace=NAMESPACE,
            task_token=task.task_token,
            completed_type=QueryResultType.QUERY_RESULT_TYPE_FAILED,
            error_message="not now",
        )
    )
    with pytest.raises(WorkflowQueryFailedError, match=r"^not now$"):
        await query
    with pytest.raises(RPCError) as again:
        await svc.respond_query_task_completed(
            wsv1.RespondQueryTaskCompletedRequest(
                namespace=NAMESPACE,
                task_token=task.task_token,
                completed_type=QueryResultType.QUERY_RESULT_TYPE_ANSWERED,
            ),
            retry=False,
        )
    assert again.value.status == RPCStatusCode.NOT_FOUND
    assert again.value.message == "query task not found, or already expired"
    history = await handle.fetch_history()
    assert len(history.events) == 5  # the query wrote nothing


NAMESPACE = "default"


async def poll_workflow_task(svc: WorkflowService, tq: str) -> wsv1.PollWorkflowTaskQueueResponse:
    response = await svc.poll_workflow_task_queue(
        wsv1.PollWorkflowTaskQueueRequest(
            namespace=NAMESPACE, task_queue=TaskQueue(name=tq), identity="raw-worker"
        ),
        timeout=timedelta(seconds=30),
    )
    assert response.task_token, "no workflow task came"
    return response


async def poll_activity_task(svc: WorkflowService, tq: str) -> wsv1.PollActivityTaskQueueResponse:
    response = await svc.poll_activity_task_queue(
        wsv1.PollActivityTaskQueueRequest(
            namespace=NAMESPACE, task_queue=TaskQueue(name=tq), identity="raw-worker"
        ),
        timeout=timedelta(seconds=30),
    )
    assert response.task_token, "no activity task came"
    return response


async def complete_activity(svc: WorkflowService, task: wsv1.PollActivityTaskQueueResponse) -> None:
    await svc.respond_activity_task_completed(
        wsv1.RespondActivityTaskCompletedRequest(namespace=NAMESPACE, task_token=task.task_token)
    )


def schedule_activity(tq: str, activity_id: str) -> Command:
    return Command(
        command_type=CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
        schedule_activity_task_command_attributes=ScheduleActivityTaskCommandAttributes(
            activity_id=activity_id,
            activity_type=ActivityType(name="raw"),
            task_queue=TaskQueue(name=tq),
            start_to_close_timeout=Duration(seconds=60),
        ),
    )


def complete_workflow() -> Command:
    return Command(
        command_type=CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
        complete_workflow_execution_command_attributes=CompleteWorkflowExecutionCommandAttributes(),
    )
