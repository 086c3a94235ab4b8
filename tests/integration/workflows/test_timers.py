"""User timers driven by the official SDK, on Strom and on the Temporal dev server."""

from __future__ import annotations

import asyncio
import concurrent.futures
import shutil
import signal
import time
import uuid
from collections.abc import Iterator

import pytest
from temporalio.api.command.v1 import Command
from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import CommandType, EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    GetWorkflowExecutionHistoryRequest,
    PollWorkflowTaskQueueRequest,
    PollWorkflowTaskQueueResponse,
    RespondWorkflowTaskCompletedRequest,
    StartWorkflowExecutionRequest,
)
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from strom.testing import StromEnvironment
from tests.integration.workflows.conftest import Server
from tests.workflows.activities import ALL_ACTIVITIES
from tests.workflows.timers import (
    TIMER_WORKFLOWS,
    CanceledTimerWorkflow,
    ConditionMetWorkflow,
    ConditionTimeoutWorkflow,
    ManySleepsWorkflow,
    SleepForWorkflow,
    SleepWorkflow,
    WaitForTimeoutWorkflow,
)

pytestmark = [pytest.mark.timeout(120)]

_T = EventType
_Cause = WorkflowTaskFailedCause


@pytest.fixture(scope="module")
def executor() -> Iterator[concurrent.futures.ThreadPoolExecutor]:
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        yield pool


def worker(server: Server, task_queue: str, executor: concurrent.futures.Executor) -> Worker:
    return Worker(
        server.client,
        task_queue=task_queue,
        workflows=TIMER_WORKFLOWS,
        activities=ALL_ACTIVITIES,
        activity_executor=executor,
    )


async def events_of(handle: WorkflowHandle) -> list[HistoryEvent]:
    return list((await handle.fetch_history()).events)


def of_type(events: list[HistoryEvent], event_type: EventType.ValueType) -> list[HistoryEvent]:
    return [e for e in events if e.event_type == event_type]


def timer_pairs(events: list[HistoryEvent]) -> dict[str, tuple[HistoryEvent, HistoryEvent]]:
    """timer id -> (TimerStarted, TimerFired) of every timer that fired."""
    started = {e.event_id: e for e in of_type(events, _T.EVENT_TYPE_TIMER_STARTED)}
    out = {}
    for fired in of_type(events, _T.EVENT_TYPE_TIMER_FIRED):
        attrs = fired.timer_fired_event_attributes
        start = started[attrs.started_event_id]
        assert start.timer_started_event_attributes.timer_id == attrs.timer_id
        out[attrs.timer_id] = (start, fired)
    return out


def lateness_ms(started: HistoryEvent, fired: HistoryEvent) -> float:
    """How long after its due time the timer fired."""
    due = started.event_time.ToNanoseconds() + (
        started.timer_started_event_attributes.start_to_fire_timeout.ToNanoseconds()
    )
    return (fired.event_time.ToNanoseconds() - due) / 1e6


async def test_asyncio_sleep_and_workflow_sleep(
    server: Server, executor: concurrent.futures.Executor
) -> None:
    tq = server.task_queue()
    async with worker(server, tq, executor):
        began = time.monotonic()
        handle = await server.client.start_workflow(
            SleepWorkflow.run, "Strom", id=f"sleep-{uuid.uuid4()}", task_queue=tq
        )
        assert await handle.result() == "Hello, Strom!"
        assert time.monotonic() - began >= 1.5
        events = await events_of(handle)
    pairs = timer_pairs(events)
    assert sorted(pairs) == ["1", "2"]
    timeouts = [
        pairs[t][0].timer_started_event_attributes.start_to_fire_timeout.ToMilliseconds()
        for t in ("1", "2")
    ]
    assert timeouts == [1000, 500]
    for started, fired in pairs.values():
        assert lateness_ms(started, fired) >= 0
        # The fire event comes right before the workflow task that delivers it.
        assert events[fired.event_id].event_type == _T.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED


async def test_wait_for_cancels_the_timer_when_the_activity_wins(
    server: Server, executor: concurrent.futures.Executor
) -> None:
    tq = server.task_queue()
    async with worker(server, tq, executor):
        handle = await server.client.start_workflow(
            CanceledTimerWorkflow.run, "Strom", id=f"waitfor-{uuid.uuid4()}", task_queue=tq
        )
        assert await handle.result() == "Hello, Strom!"
        events = await events_of(handle)
    (started,) = of_type(events, _T.EVENT_TYPE_TIMER_STARTED)
    (canceled,) = of_type(events, _T.EVENT_TYPE_TIMER_CANCELED)
    assert of_type(events, _T.EVENT_TYPE_TIMER_FIRED) == []
    attrs = canceled.timer_canceled_event_attributes
    assert attrs.started_event_id == started.event_id
    assert attrs.timer_id == started.timer_started_event_attributes.timer_id
    completed = events[attrs.workflow_task_completed_event_id - 1]
    assert completed.event_type == _T.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    assert attrs.identity == completed.workflow_task_completed_event_attributes.identity != ""
    assert events[-1].event_type == _T.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED


async def test_wait_for_times_out_when_the_timer_wins(
    server: Server, executor: concurrent.futures.Executor
) -> None:
    tq = server.task_queue()
    async with worker(server, tq, executor):
        handle = await server.client.start_workflow(
            WaitForTimeoutWorkflow.run, "Strom", id=f"waitfor-to-{uuid.uuid4()}", task_queue=tq
        )
        assert await handle.result() == "timed out"
        events = await events_of(handle)
    assert list(timer_pairs(events)) == ["1"]


async def test_wait_condition_times_out(
    server: Server, executor: concurrent.futures.Executor
) -> None:
    tq = server.task_queue()
    async with worker(server, tq, executor):
        handle = await server.client.start_workflow(
            ConditionTimeoutWorkflow.run, 0.5, id=f"cond-to-{uuid.uuid4()}", task_queue=tq
        )
        assert await handle.result() == "timed out"
        events = await events_of(handle)
    ((started, _),) = timer_pairs(events).values()
    assert started.timer_started_event_attributes.start_to_fire_timeout.ToMilliseconds() == 500


async def test_wait_condition_met_cancels_its_timer(
    server: Server, executor: concurrent.futures.Executor
) -> None:
    tq = server.task_queue()
    async with worker(server, tq, executor):
        handle = await server.client.start_workflow(
            ConditionMetWorkflow.run, "Strom", id=f"cond-met-{uuid.uuid4()}", task_queue=tq
        )
        assert await handle.result() == "Hello, Strom!"
        events = await events_of(handle)
    assert len(of_type(events, _T.EVENT_TYPE_TIMER_STARTED)) == 1
    assert len(of_type(events, _T.EVENT_TYPE_TIMER_CANCELED)) == 1
    assert of_type(events, _T.EVENT_TYPE_TIMER_FIRED) == []


async def test_twenty_parallel_sleeps(
    server: Server, executor: concurrent.futures.Executor
) -> None:
    tq = server.task_queue()
    async with worker(server, tq, executor):
        handle = await server.client.start_workflow(
            ManySleepsWorkflow.run,
            args=[20, 0.1],
            id=f"many-{uuid.uuid4()}",
            task_queue=tq,
        )
        assert await handle.result() == list(reversed(range(20)))
        events = await events_of(handle)
    pairs = timer_pairs(events)
    assert len(pairs) == 20 and len(of_type(events, _T.EVENT_TYPE_TIMER_STARTED)) == 20
    assert of_type(events, _T.EVENT_TYPE_TIMER_CANCELED) == []
    fired_order = [
        e.timer_fired_event_attributes.timer_id for e in of_type(events, _T.EVENT_TYPE_TIMER_FIRED)
    ]
    # Shorter timers fire first: in history order, start_to_fire_timeout never decreases.
    timeouts = [
        pairs[t][0].timer_started_event_attributes.start_to_fire_timeout.ToMilliseconds()
        for t in fired_order
    ]
    assert timeouts == sorted(timeouts)


async def test_zero_duration_sleep_fires(
    server: Server, executor: concurrent.futures.Executor
) -> None:
    tq = server.task_queue()
    async with worker(server, tq, executor):
        handle = await server.client.start_workflow(
            SleepForWorkflow.run, 0, id=f"zero-{uuid.uuid4()}", task_queue=tq
        )
        assert await handle.result() == "slept"
        events = await events_of(handle)
    ((started, _),) = timer_pairs(events).values()
    assert started.timer_started_event_attributes.start_to_fire_timeout.ToNanoseconds() == 0


async def test_negative_sleep_fails_the_workflow_task(
    server: Server, executor: concurrent.futures.Executor
) -> None:
    # The SDK refuses it before any command leaves the worker; the server sees a task failure.
    tq = server.task_queue()
    async with worker(server, tq, executor):
        handle = await server.client.start_workflow(
            SleepForWorkflow.run, -1, id=f"negative-{uuid.uuid4()}", task_queue=tq
        )
        failed = await _first_event(handle, _T.EVENT_TYPE_WORKFLOW_TASK_FAILED)
        await handle.terminate("test over")
    message = failed.workflow_task_failed_event_attributes.failure.message
    assert message == "Attempting to schedule timer with negative delay"
    assert of_type(await events_of(handle), _T.EVENT_TYPE_TIMER_STARTED) == []


async def _first_event(handle: WorkflowHandle, event_type: EventType.ValueType) -> HistoryEvent:
    for _ in range(200):
        found = of_type(await events_of(handle), event_type)
        if found:
            return found[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {EventType.Name(event_type)} in {handle.id}")


# -- commands no SDK sends: a hand-written worker completes the task --------------------------


def _start_timer(timer_id: str, seconds: int = 10, nanos: int = 0) -> Command:
    command = Command(command_type=CommandType.COMMAND_TYPE_START_TIMER)
    command.start_timer_command_attributes.timer_id = timer_id
    timeout = command.start_timer_command_attributes.start_to_fire_timeout
    timeout.seconds, timeout.nanos = seconds, nanos
    return command


def _cancel_timer(timer_id: str) -> Command:
    command = Command(command_type=CommandType.COMMAND_TYPE_CANCEL_TIMER)
    command.cancel_timer_command_attributes.timer_id = timer_id
    return command


async def _poll_task(server: Server, tq: str) -> PollWorkflowTaskQueueResponse:
    service = server.client.workflow_service
    workflow_id = f"raw-{uuid.uuid4()}"
    await service.start_workflow_execution(
        StartWorkflowExecutionRequest(
            namespace="default",
            workflow_id=workflow_id,
            workflow_type=WorkflowType(name="RawTimers"),
            task_queue=TaskQueue(name=tq),
            request_id=str(uuid.uuid4()),
        )
    )
    for _ in range(10):
        poll = await service.poll_workflow_task_queue(
            PollWorkflowTaskQueueRequest(
                namespace="default", task_queue=TaskQueue(name=tq), identity="raw-worker"
            )
        )
        if poll.task_token:
            assert poll.workflow_execution.workflow_id == workflow_id
            return poll
    raise AssertionError("no workflow task")


async def _complete(
    server: Server, poll: PollWorkflowTaskQueueResponse, *commands: Command
) -> RPCError | None:
    request = RespondWorkflowTaskCompletedRequest(
        namespace="default", task_token=poll.task_token, commands=commands, identity="raw-worker"
    )
    try:
        await server.client.workflow_service.respond_workflow_task_completed(request, retry=False)
    except RPCError as err:
        return err
    return None


async def _history(server: Server, execution: WorkflowExecution) -> list[HistoryEvent]:
    response = await server.client.workflow_service.get_workflow_execution_history(
        GetWorkflowExecutionHistoryRequest(namespace="default", execution=execution)
    )
    return list(response.history.events)


@pytest.mark.parametrize(
    ("commands", "cause", "message"),
    [
        (
            [_start_timer("t", -1)],
            _Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES,
            "BadStartTimerAttributes: An invalid StartToFireTimeout is set on StartTimerCommand: "
            "negative duration. TimerId=t",
        ),
        (
            [_start_timer("")],
            _Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES,
            "BadStartTimerAttributes: TimerId is not set on StartTimerCommand.",
        ),
        (
            [_start_timer("t"), _start_timer("t")],
            _Cause.WORKFLOW_TASK_FAILED_CAUSE_START_TIMER_DUPLICATE_ID,
            "StartTimerDuplicateId: invalid history builder state for action: "
            "add-timer-started-event, TimerID: t",
        ),
        (
            [_cancel_timer("nope")],
            _Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_TIMER_ATTRIBUTES,
            "BadCancelTimerAttributes: invalid history builder state for action: "
            "add-timer-canceled-event, TimerID: nope",
        ),
    ],
    ids=["negative", "no-id", "duplicate", "cancel-unknown"],
)
async def test_bad_timer_commands_fail_the_workflow_task(
    server: Server, commands: list[Command], cause: int, message: str
) -> None:
    poll = await _poll_task(server, server.task_queue())
    error = await _complete(server, poll, *commands)
    assert error is not None and error.status == RPCStatusCode.INVALID_ARGUMENT
    assert error.message == message
    events = await _history(server, poll.workflow_execution)
    failed = events[-2].workflow_task_failed_event_attributes
    assert events[-2].event_type == _T.EVENT_TYPE_WORKFLOW_TASK_FAILED
    assert (failed.cause, failed.failure.message) == (cause, message)
    assert failed.identity == "raw-worker"
    assert events[-1].event_type == _T.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED
    assert of_type(events, _T.EVENT_TYPE_TIMER_STARTED) == []
    await server.client.get_workflow_handle(poll.workflow_execution.workflow_id).terminate()


async def test_start_and_cancel_in_one_task_and_a_zero_timer(server: Server) -> None:
    poll = await _poll_task(server, server.task_queue())
    assert await _complete(server, poll, _start_timer("a"), _cancel_timer("a")) is None
    events = await _history(server, poll.workflow_execution)
    assert [EventType.Name(e.event_type) for e in events[3:]] == [
        "EVENT_TYPE_WORKFLOW_TASK_COMPLETED",
        "EVENT_TYPE_TIMER_STARTED",
        "EVENT_TYPE_TIMER_CANCELED",
    ]
    canceled = events[-1].timer_canceled_event_attributes
    assert (canceled.started_event_id, canceled.identity) == (5, "raw-worker")
    await server.client.get_workflow_handle(poll.workflow_execution.workflow_id).terminate()


async def test_a_long_timer_of_a_terminated_run_never_fires(
    server: Server, executor: concurrent.futures.Executor
) -> None:
    tq = server.task_queue()
    async with worker(server, tq, executor):
        handle = await server.client.start_workflow(
            SleepForWorkflow.run, 1, id=f"closed-{uuid.uuid4()}", task_queue=tq
        )
        await _first_event(handle, _T.EVENT_TYPE_TIMER_STARTED)
        await handle.terminate("before the timer")
        await asyncio.sleep(1.5)
    events = await events_of(handle)
    assert events[-1].event_type == _T.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED
    assert of_type(events, _T.EVENT_TYPE_TIMER_FIRED) == []


async def test_timer_survives_sigkill_and_rebuild_of_the_history_processor(
    strom_env: StromEnvironment, executor: concurrent.futures.Executor
) -> None:
    """Strom only: the durable timer index is derived again after a crash or a lost RocksDB."""
    client = strom_env.client
    tq = f"durable-{uuid.uuid4().hex[:8]}"
    history = strom_env.services.processes["history"]
    async with Worker(
        client, task_queue=tq, workflows=TIMER_WORKFLOWS, activities=ALL_ACTIVITIES,
        activity_executor=executor,
    ):  # fmt: skip
        killed = await client.start_workflow(
            SleepForWorkflow.run, 3, id=f"kill-{uuid.uuid4()}", task_queue=tq
        )
        await _first_event(killed, _T.EVENT_TYPE_TIMER_STARTED)
        history.send_signal(signal.SIGKILL)
        history.wait(60)
        strom_env.services.respawn("history")
        assert await asyncio.wait_for(killed.result(), 60) == "slept"

        rebuilt = await client.start_workflow(
            SleepForWorkflow.run, 3, id=f"rebuild-{uuid.uuid4()}", task_queue=tq
        )
        await _first_event(rebuilt, _T.EVENT_TYPE_TIMER_STARTED)
        strom_env.services.processes["history"].send_signal(signal.SIGTERM)
        strom_env.services.processes["history"].wait(60)
        shutil.rmtree(strom_env.services.history_state_dir)
        strom_env.services.respawn("history")
        assert await asyncio.wait_for(rebuilt.result(), 60) == "slept"
    for handle in (killed, rebuilt):
        events = await events_of(handle)
        assert len(of_type(events, _T.EVENT_TYPE_TIMER_FIRED)) == 1, handle.id
        assert [e.event_id for e in events] == list(range(1, len(events) + 1))
