"""Task polls and history long-polls: answers, empty answers at the deadline, stopping."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import grpc
import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import HistoryEventFilterType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    GetWorkflowExecutionHistoryRequest,
    PollActivityTaskQueueRequest,
    PollActivityTaskQueueResponse,
    PollWorkflowTaskQueueRequest,
    PollWorkflowTaskQueueResponse,
)

from frontend.server import stop
from tests.unit.frontend.bad_requests import start
from tests.unit.frontend.conftest import Frontend

POLL = PollWorkflowTaskQueueRequest(namespace="default", task_queue=TaskQueue(name="tq"))


async def test_poll_returns_a_waiting_task(frontend: Frontend) -> None:
    task = PollWorkflowTaskQueueResponse(task_token=b"t", attempt=1)
    frontend.matching.workflow_tasks.setdefault("tq", asyncio.Queue()).put_nowait(task)

    response = await frontend.stub.PollWorkflowTaskQueue(POLL, timeout=10)

    assert response == task


async def test_poll_gets_a_task_arriving_later(frontend: Frontend) -> None:
    queue: asyncio.Queue[PollActivityTaskQueueResponse] = asyncio.Queue()
    frontend.matching.activity_tasks["tq"] = queue
    request = PollActivityTaskQueueRequest(namespace="default", task_queue=TaskQueue(name="tq"))
    poll = asyncio.ensure_future(frontend.stub.PollActivityTaskQueue(request, timeout=10))
    await asyncio.sleep(0.2)

    queue.put_nowait(PollActivityTaskQueueResponse(activity_id="a1"))

    assert (await poll).activity_id == "a1"


async def test_poll_answers_empty_before_the_clients_deadline(frontend: Frontend) -> None:
    began = time.monotonic()

    response = await frontend.stub.PollWorkflowTaskQueue(POLL, timeout=3)

    elapsed = time.monotonic() - began
    assert response == PollWorkflowTaskQueueResponse()
    assert 1.7 < elapsed < 2.8  # deadline minus Temporal's one second of tail room
    _, deadline = frontend.matching.polls[0]
    assert deadline - began < 2.1


async def test_poll_waits_at_most_the_long_poll_interval(frontend: Frontend) -> None:
    began = time.monotonic()
    call = frontend.stub.PollWorkflowTaskQueue(POLL, timeout=600)
    await asyncio.sleep(0.2)
    call.cancel()

    _, deadline = frontend.matching.polls[0]
    assert 59 < deadline - began < 61


async def test_stop_ends_polls_with_empty_answers(frontend: Frontend) -> None:
    poll = asyncio.ensure_future(frontend.stub.PollWorkflowTaskQueue(POLL, timeout=30))
    await asyncio.sleep(0.2)
    began = time.monotonic()

    await stop(frontend.server, grace=5)

    assert await poll == PollWorkflowTaskQueueResponse()
    assert time.monotonic() - began < 2


def history_request(**fields: Any) -> GetWorkflowExecutionHistoryRequest:
    return GetWorkflowExecutionHistoryRequest(
        namespace="default", execution=WorkflowExecution(workflow_id="wf"), **fields
    )


async def test_history_page_without_waiting(frontend: Frontend) -> None:
    await frontend.stub.StartWorkflowExecution(start(workflow_id="wf"))

    response = await frontend.stub.GetWorkflowExecutionHistory(history_request(), timeout=5)

    assert [e.event_id for e in response.history.events] == [1]
    sent = frontend.history.sent[-1].request
    assert isinstance(sent, GetWorkflowExecutionHistoryRequest)
    assert sent.maximum_page_size == 256
    assert (
        sent.history_event_filter_type == HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT
    )


async def test_wait_new_event_returns_when_events_arrive(frontend: Frontend) -> None:
    await frontend.stub.StartWorkflowExecution(start(workflow_id="wf"))
    first = await frontend.stub.GetWorkflowExecutionHistory(history_request(), timeout=5)
    waiting = asyncio.ensure_future(
        frontend.stub.GetWorkflowExecutionHistory(
            history_request(wait_new_event=True, next_page_token=first.next_page_token),
            timeout=10,
        )
    )
    await asyncio.sleep(0.3)
    assert not waiting.done()

    frontend.history.close("default", "wf")

    response = await asyncio.wait_for(waiting, 5)
    assert [e.event_id for e in response.history.events] == [2]
    assert response.next_page_token == b""


async def test_wait_new_event_times_out_with_an_empty_page(frontend: Frontend) -> None:
    await frontend.stub.StartWorkflowExecution(start(workflow_id="wf"))
    began = time.monotonic()

    response = await frontend.stub.GetWorkflowExecutionHistory(
        history_request(
            history_event_filter_type=HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT
        ),
        timeout=3,
    )

    assert list(response.history.events) == []
    assert 1.7 < time.monotonic() - began < 2.8


async def test_stop_ends_history_long_polls(frontend: Frontend) -> None:
    await frontend.stub.StartWorkflowExecution(start(workflow_id="wf"))
    request = history_request(
        wait_new_event=True,
        history_event_filter_type=HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
    )
    waiting = asyncio.ensure_future(frontend.stub.GetWorkflowExecutionHistory(request, timeout=30))
    await asyncio.sleep(0.2)
    began = time.monotonic()

    await stop(frontend.server, grace=5)

    assert list((await waiting).history.events) == []
    assert time.monotonic() - began < 2


async def test_a_waiting_read_left_unanswered_is_sent_again(frontend: Frontend) -> None:
    """A read parked in a history process that died (SIGKILL) never gets its answer."""
    await frontend.stub.StartWorkflowExecution(start(workflow_id="wf"))
    frontend.history.close("default", "wf")
    frontend.history.scripts["GetWorkflowExecutionHistory"] = [TimeoutError(), TimeoutError()]
    request = history_request(
        wait_new_event=True,
        history_event_filter_type=HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
    )

    response = await frontend.stub.GetWorkflowExecutionHistory(request, timeout=60)

    assert [e.event_id for e in response.history.events] == [2]
    reads = [s for s in frontend.history.sent if s.kind == "GetWorkflowExecutionHistory"]
    assert len(reads) == 3
    # Each send waits a bounded while, far below the client's minute.
    assert all(read.timeout <= 10.0 for read in reads)


async def test_a_plain_read_left_unanswered_is_unavailable(frontend: Frontend) -> None:
    await frontend.stub.StartWorkflowExecution(start(workflow_id="wf"))
    frontend.history.scripts["GetWorkflowExecutionHistory"] = [TimeoutError()]

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await frontend.stub.GetWorkflowExecutionHistory(history_request(), timeout=60)

    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    reads = [s for s in frontend.history.sent if s.kind == "GetWorkflowExecutionHistory"]
    assert len(reads) == 1
