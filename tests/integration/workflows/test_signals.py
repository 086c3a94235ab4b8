"""Signals and signal-with-start through the official SDK, on Strom and on the dev server."""

from __future__ import annotations

import asyncio
import concurrent.futures
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from temporalio.api.command.v1 import Command
from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import CommandType, EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueRequest,
    PollWorkflowTaskQueueResponse,
    RespondWorkflowTaskCompletedRequest,
    SignalWithStartWorkflowExecutionRequest,
    SignalWorkflowExecutionRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from tests.golden.signal_scenarios import SCENARIOS
from tests.integration.workflows.conftest import Server
from tests.unit.history.golden import load
from tests.workflows.activities import ALL_ACTIVITIES
from tests.workflows.cancellation import CleanupOnCancelWorkflow, WaitForCancelWorkflow
from tests.workflows.signal_collector import SignalCollectorWorkflow

pytestmark = [pytest.mark.timeout(120)]

WORKFLOWS = [SignalCollectorWorkflow, WaitForCancelWorkflow, CleanupOnCancelWorkflow]
_SIGNALED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED


def worker(client: Client, task_queue: str, executor: concurrent.futures.Executor) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=ALL_ACTIVITIES,
        activity_executor=executor,
    )


@pytest.fixture(scope="module")
def executor() -> concurrent.futures.Iterator[concurrent.futures.ThreadPoolExecutor]:
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        yield pool


def _types(events: list[HistoryEvent]) -> list[str]:
    return [EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in events]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_scenario_history_matches_the_golden(
    server: Server, executor: concurrent.futures.Executor, name: str
) -> None:
    tq = server.task_queue()
    async with worker(server.client, tq, executor):
        history = await SCENARIOS[name](server.client, tq, f"{name}-{uuid.uuid4()}")
    assert _types(list(history.events)) == _types(list(load(name).events))


async def test_signals_sent_before_the_first_task_arrive_in_order(
    server: Server, executor: concurrent.futures.Executor
) -> None:
    tq = server.task_queue()
    handle = await server.client.start_workflow(
        SignalCollectorWorkflow.run, 3, id=f"early-{uuid.uuid4()}", task_queue=tq
    )
    for value in ("a", "b", "c"):
        await handle.signal(SignalCollectorWorkflow.add, value)
    async with worker(server.client, tq, executor):
        assert await handle.result() == ["a", "b", "c"]
    events = (await handle.fetch_history()).events
    assert _types(list(events))[:6] == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_STARTED",
    ]


async def test_many_concurrent_signals_are_all_delivered_once(
    server: Server, executor: concurrent.futures.Executor
) -> None:
    tq = server.task_queue()
    values = [f"v{i}" for i in range(20)]
    async with worker(server.client, tq, executor):
        handle = await server.client.start_workflow(
            SignalCollectorWorkflow.run, len(values), id=f"many-{uuid.uuid4()}", task_queue=tq
        )
        await asyncio.gather(*(handle.signal(SignalCollectorWorkflow.add, v) for v in values))
        result = await handle.result()
    assert sorted(result) == sorted(values)
    events = (await handle.fetch_history()).events
    signaled = [
        e.workflow_execution_signaled_event_attributes for e in events if e.event_type == _SIGNALED
    ]
    # The workflow saw the signals in history order, whatever the buffering did.
    assert [s.input.payloads[0].data.decode().strip('"') for s in signaled] == result


# --- the raw API: a test plays the worker, to hold a workflow task while signals arrive -------


class RawWorker:
    """Polls and completes workflow tasks by hand through the SDK's raw service client."""

    def __init__(self, client: Client, task_queue: str) -> None:
        self.client = client
        self.task_queue = task_queue

    async def start(self, workflow_id: str) -> str:
        handle = await self.client.start_workflow(
            "RawWorkflow", id=workflow_id, task_queue=self.task_queue
        )
        assert handle.result_run_id is not None
        return handle.result_run_id

    async def poll(self) -> PollWorkflowTaskQueueResponse:
        request = PollWorkflowTaskQueueRequest(
            namespace=self.client.namespace,
            task_queue=TaskQueue(name=self.task_queue),
            identity="raw-worker",
        )
        for _ in range(5):
            response = await self.client.workflow_service.poll_workflow_task_queue(
                request, timeout=timedelta(seconds=20)
            )
            if response.task_token:
                return response
        raise AssertionError("no workflow task")

    async def complete(self, task: PollWorkflowTaskQueueResponse, *commands: Command) -> None:
        await self.client.workflow_service.respond_workflow_task_completed(
            RespondWorkflowTaskCompletedRequest(
                namespace=self.client.namespace,
                task_token=task.task_token,
                commands=list(commands),
                identity="raw-worker",
            ),
            retry=False,
        )

    async def signal(self, workflow_id: str, name: str, request_id: str = "") -> None:
        await self.client.workflow_service.signal_workflow_execution(
            SignalWorkflowExecutionRequest(
                namespace=self.client.namespace,
                workflow_execution=WorkflowExecution(workflow_id=workflow_id),
                signal_name=name,
                identity="signaller",
                request_id=request_id or str(uuid.uuid4()),
            ),
            retry=False,
        )

    async def events(self, workflow_id: str) -> list[HistoryEvent]:
        history = await self.client.get_workflow_handle(workflow_id).fetch_history()
        return list(history.events)


@pytest.fixture
async def raw(server: Server) -> AsyncIterator[RawWorker]:
    yield RawWorker(server.client, server.task_queue())


def _complete() -> Command:
    command = Command(command_type=CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION)
    command.complete_workflow_execution_command_attributes.SetInParent()
    return command


async def test_signals_during_a_task_wait_for_its_completion(raw: RawWorker) -> None:
    workflow_id = f"buffered-{uuid.uuid4()}"
    await raw.start(workflow_id)
    task = await raw.poll()
    await raw.signal(workflow_id, "first")
    await raw.signal(workflow_id, "second")
    # Buffered: not in history while the task runs.
    assert _types(await raw.events(workflow_id)) == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
    ]
    await raw.complete(task)
    events = await raw.events(workflow_id)
    assert _types(events) == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_COMPLETED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    names = [e.workflow_execution_signaled_event_attributes.signal_name for e in events[4:6]]
    assert names == ["first", "second"]
    task = await raw.poll()
    assert task.previous_started_event_id == 3 and task.started_event_id == 8
    await raw.complete(task, _complete())


async def test_a_close_with_unseen_signals_fails_the_task(raw: RawWorker) -> None:
    workflow_id = f"unhandled-{uuid.uuid4()}"
    await raw.start(workflow_id)
    task = await raw.poll()
    await raw.signal(workflow_id, "late")
    with pytest.raises(RPCError) as raised:
        await raw.complete(task, _complete())
    assert raised.value.status == RPCStatusCode.INVALID_ARGUMENT
    assert raised.value.message == "UnhandledCommand"
    events = await raw.events(workflow_id)
    assert _types(events)[3:] == [
        "WORKFLOW_TASK_FAILED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    cause = events[3].workflow_task_failed_event_attributes.cause
    assert cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND
    task = await raw.poll()
    await raw.complete(task, _complete())
    assert _types(await raw.events(workflow_id))[-1] == "WORKFLOW_EXECUTION_COMPLETED"


async def test_a_retried_signal_is_written_once(raw: RawWorker) -> None:
    workflow_id = f"dedup-{uuid.uuid4()}"
    await raw.start(workflow_id)
    for _ in range(3):
        await raw.signal(workflow_id, "once", request_id="the-same-request")
    await raw.signal(workflow_id, "twice")
    signaled = [e for e in await raw.events(workflow_id) if e.event_type == _SIGNALED]
    assert [e.workflow_execution_signaled_event_attributes.signal_name for e in signaled] == [
        "once",
        "twice",
    ]
    assert signaled[0].workflow_execution_signaled_event_attributes.request_id == (
        "the-same-request"
    )
    await raw.client.get_workflow_handle(workflow_id).terminate("test over")


async def test_signals_to_closed_and_unknown_workflows_are_not_found(raw: RawWorker) -> None:
    workflow_id = f"closed-{uuid.uuid4()}"
    await raw.start(workflow_id)
    await raw.client.get_workflow_handle(workflow_id).terminate("closed on purpose")
    with pytest.raises(RPCError) as closed:
        await raw.signal(workflow_id, "late")
    assert (closed.value.status, closed.value.message) == (
        RPCStatusCode.NOT_FOUND,
        "workflow execution already completed",
    )
    with pytest.raises(RPCError) as unknown:
        await raw.signal("no-such-workflow", "lost")
    assert (unknown.value.status, unknown.value.message) == (
        RPCStatusCode.NOT_FOUND,
        "workflow not found for ID: no-such-workflow",
    )


async def test_signal_with_start_reports_whether_it_started(raw: RawWorker) -> None:
    workflow_id = f"sws-{uuid.uuid4()}"

    async def signal_with_start(request_id: str) -> tuple[str, bool]:
        response = await raw.client.workflow_service.signal_with_start_workflow_execution(
            SignalWithStartWorkflowExecutionRequest(
                namespace=raw.client.namespace,
                workflow_id=workflow_id,
                workflow_type=WorkflowType(name="RawWorkflow"),
                task_queue=TaskQueue(name=raw.task_queue),
                signal_name="go",
                request_id=request_id,
            ),
            retry=False,
        )
        return response.run_id, response.started

    run_id, started = await signal_with_start("first")
    assert started
    assert await signal_with_start("second") == (run_id, False)
    # A retry of the first request neither starts nor signals again.
    assert await signal_with_start("first") == (run_id, False)
    assert _types(await raw.events(workflow_id)) == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_EXECUTION_SIGNALED",
    ]
    await raw.client.get_workflow_handle(workflow_id).terminate("replaced")
    new_run, started = await signal_with_start("third")
    assert started and new_run != run_id
