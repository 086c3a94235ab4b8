"""Unit tests of the dispatcher: long-polls and dispatch on in-memory queues, no Kafka."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import grpc
from temporalio.api.common.v1 import message_pb2 as common_pb2
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb2
from temporalio.api.workflowservice.v1 import request_response_pb2 as wsv1

import schemas
from matching_processor.consumer import RawTask
from matching_processor.dispatcher import Dispatcher
from matching_processor.queues import TaskQueues
from schemas.inbox import ActivityTaskStarted, RecordWorkflowTaskStarted

NS, Q = "default", "orders"
NOW = 1_700_000_000_000


@dataclass(frozen=True)
class Reply:
    status_code: int
    message: str = ""
    payload: bytes = b""


@dataclass
class ScriptedHistory:
    """Answers RecordWorkflowTaskStarted from a script of replies (or exceptions)."""

    script: list[Any] = field(default_factory=list)
    calls: list[RecordWorkflowTaskStarted] = field(default_factory=list)

    async def call(
        self, namespace: str, workflow_id: str, kind: str, request: Any, timeout: float
    ) -> Reply:
        message = RecordWorkflowTaskStarted.from_bytes(request.SerializeToString())
        self.calls.append(message)
        outcome = self.script.pop(0) if self.script else "ok"
        if isinstance(outcome, BaseException):
            raise outcome
        if outcome == "ok":
            response = wsv1.PollWorkflowTaskQueueResponse(
                task_token=message.task_token,
                workflow_execution=common_pb2.WorkflowExecution(workflow_id=workflow_id),
            )
            return Reply(0, payload=response.SerializeToString())
        return Reply(int(outcome), "scripted")


def raw(offset: int, workflow_id: str, kind: str = "workflow", payload: bytes = b"") -> RawTask:
    value = schemas.encode(
        schemas.TASK_RECORD,
        {
            "task_kind": kind,
            "namespace": NS,
            "task_queue": Q,
            "task_queue_kind": "normal",
            "task_queue_partition": offset % 4,
            "workflow_id": workflow_id,
            "run_id": "run",
            "scheduled_event_id": 2,
            "attempt": 1,
            "task_token": workflow_id.encode(),
            "schedule_time_ms": NOW + offset,
            "schedule_to_start_timeout_ms": 0,
            "payload": payload,
        },
    )
    return RawTask(0, offset, value)


def make(history: ScriptedHistory | None = None) -> tuple[Dispatcher, list[Any]]:
    started: list[ActivityTaskStarted] = []
    dispatcher = Dispatcher(
        TaskQueues(lambda key: 0),
        history or ScriptedHistory(),
        clock=lambda: NOW,
        on_activity_started=started.append,
    )
    return dispatcher, started


def wf_poll() -> wsv1.PollWorkflowTaskQueueRequest:
    return wsv1.PollWorkflowTaskQueueRequest(
        namespace=NS, task_queue=tq_pb2.TaskQueue(name=Q), identity="w"
    )


async def until(predicate: Any) -> None:
    for _ in range(200):
        if predicate():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition never held")


async def test_cancelled_waiting_poll_consumes_no_task() -> None:
    d, _ = make()
    poll = asyncio.create_task(d.poll_workflow_task(wf_poll(), 30))
    await until(lambda: d.waiting_polls(NS, Q, "workflow") == 1)
    poll.cancel()
    await asyncio.gather(poll, return_exceptions=True)
    d.on_records([raw(0, "wf-a")])
    assert d.backlog_size(NS, Q, "workflow") == 1
    assert d.waiting_polls(NS, Q, "workflow") == 0


async def test_poll_cancelled_right_after_its_match_gives_the_task_back() -> None:
    d, _ = make()
    poll = asyncio.create_task(d.poll_workflow_task(wf_poll(), 30))
    await until(lambda: d.waiting_polls(NS, Q, "workflow") == 1)
    d.on_records([raw(0, "wf-a")])  # matched synchronously; the poll has not resumed yet
    poll.cancel()
    await asyncio.gather(poll, return_exceptions=True)
    assert poll.cancelled()
    assert d.backlog_size(NS, Q, "workflow") == 1
    assert d.watermarks() == {0: 0}
    response = await d.poll_workflow_task(wf_poll(), 5)
    assert response.task_token == b"wf-a"


async def test_history_failure_requeues_and_retry_reuses_request_id() -> None:
    history = ScriptedHistory([TimeoutError(), str(grpc.StatusCode.UNAVAILABLE.value[0]), "ok"])
    d, _ = make(history)
    d.on_records([raw(0, "wf-a")])
    response = await d.poll_workflow_task(wf_poll(), 10)
    assert response.task_token == b"wf-a"
    assert len(history.calls) == 3
    assert len({c.request_id for c in history.calls}) == 1
    assert d.metrics.requeued == 2
    assert d.watermarks() == {0: 1}


async def test_not_found_drops_task_and_other_errors_drop_too() -> None:
    history = ScriptedHistory([str(grpc.StatusCode.NOT_FOUND.value[0]), "3", "ok"])
    d, _ = make(history)
    d.on_records([raw(0, "wf-a"), raw(1, "wf-b"), raw(2, "wf-c")])
    response = await d.poll_workflow_task(wf_poll(), 10)
    assert response.task_token == b"wf-c"
    assert d.metrics.stale == 1
    assert d.watermarks() == {0: 3}


async def test_poll_without_task_returns_empty_at_long_poll_end() -> None:
    d, _ = make()
    loop = asyncio.get_running_loop()
    began = loop.time()
    response = await d.poll_workflow_task(wf_poll(), time_remaining=1.3)
    assert response == wsv1.PollWorkflowTaskQueueResponse()
    assert 0.2 <= loop.time() - began < 1.0
    assert d.waiting_polls(NS, Q, "workflow") == 0


async def test_activity_dispatch_reports_started() -> None:
    d, started = make()
    prebuilt = wsv1.PollActivityTaskQueueResponse(activity_id="a1")
    d.on_records([raw(0, "wf-a", kind="activity", payload=prebuilt.SerializeToString())])
    request = wsv1.PollActivityTaskQueueRequest(
        namespace=NS, task_queue=tq_pb2.TaskQueue(name=Q), identity="act-w"
    )
    response = await d.poll_activity_task(request, 5)
    assert response.activity_id == "a1" and response.started_time.ToMilliseconds() == NOW
    assert len(started) == 1
    assert started[0].identity == "act-w" and started[0].task_token == b"wf-a"
    assert started[0].started_time_ms == NOW
    assert d.watermarks() == {0: 1}


async def test_undecodable_record_is_dead_lettered_and_skipped_not_stuck() -> None:
    letters: list[tuple[RawTask, str]] = []
    d = Dispatcher(
        TaskQueues(lambda key: 0),
        ScriptedHistory(),
        clock=lambda: NOW,
        on_activity_started=lambda _: None,
        on_undecodable=lambda task, error: letters.append((task, error)),
    )
    d.on_records([RawTask(0, 0, b"garbage"), RawTask(0, 1, None), raw(2, "wf-a")])
    assert d.watermarks() == {0: 2}
    assert d.backlog_size(NS, Q, "workflow") == 1
    assert [(task.offset, task.value) for task, _ in letters] == [(0, b"garbage"), (1, None)]
    assert all("undecodable task record" in error for _, error in letters)


async def test_revoke_and_close_answer_waiting_polls_empty() -> None:
    d, _ = make()
    d.on_records([raw(0, "wf-act", kind="activity")])
    first = asyncio.create_task(d.poll_workflow_task(wf_poll(), 30))
    await until(lambda: d.waiting_polls(NS, Q, "workflow") == 1)
    assert d.revoke({0}) == {0: 0}
    assert await asyncio.wait_for(first, 2) == wsv1.PollWorkflowTaskQueueResponse()
    assert d.backlog_size(NS, Q, "activity") == 0
    second = asyncio.create_task(d.poll_workflow_task(wf_poll(), 30))
    await until(lambda: d.waiting_polls(NS, Q, "workflow") == 1)
    d.close()
    assert await asyncio.wait_for(second, 2) == wsv1.PollWorkflowTaskQueueResponse()
    # Closed: later polls answer at once.
    assert await asyncio.wait_for(d.poll_workflow_task(wf_poll(), 30), 1) == (
        wsv1.PollWorkflowTaskQueueResponse()
    )
