"""Unit tests of the dispatcher: long-polls and dispatch on in-memory queues, no Kafka."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import grpc
from temporalio.api.common.v1 import message_pb2 as common_pb2
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History, HistoryEvent
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb2
from temporalio.api.workflowservice.v1 import request_response_pb2 as wsv1

import schemas
from matching_processor.consumer import RawTask
from matching_processor.dispatcher import Dispatcher
from matching_processor.queues import Progress, QueueKey, TaskQueues
from schemas.inbox import (
    RECORD_ACTIVITY_TASK_STARTED,
    RECORD_WORKFLOW_TASK_STARTED,
    ActivityTaskStarted,
    RecordWorkflowTaskStarted,
)

NS, Q = "default", "orders"
NOW = 1_700_000_000_000


@dataclass(frozen=True)
class Reply:
    status_code: int
    message: str = ""
    payload: bytes = b""


@dataclass
class ScriptedHistory:
    """Answers RecordWorkflowTaskStarted / RecordActivityTaskStarted from a script of replies
    (or exceptions)."""

    script: list[Any] = field(default_factory=list)
    calls: list[Any] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)

    async def call(
        self, namespace: str, workflow_id: str, kind: str, request: Any, timeout: float
    ) -> Reply:
        self.kinds.append(kind)
        if kind == RECORD_ACTIVITY_TASK_STARTED:
            message: Any = ActivityTaskStarted.from_bytes(request.SerializeToString())
        else:
            message = RecordWorkflowTaskStarted.from_bytes(request.SerializeToString())
        self.calls.append(message)
        outcome = self.script.pop(0) if self.script else "ok"
        if isinstance(outcome, BaseException):
            raise outcome
        if outcome == "ok" and kind == RECORD_ACTIVITY_TASK_STARTED:
            return Reply(0)
        if outcome == "ok":
            response = wsv1.PollWorkflowTaskQueueResponse(
                task_token=message.task_token,
                workflow_execution=common_pb2.WorkflowExecution(workflow_id=workflow_id),
            )
            return Reply(0, payload=response.SerializeToString())
        return Reply(int(outcome), "scripted")


def raw(
    offset: int, workflow_id: str, kind: str = "workflow", payload: bytes = b"", stamp: int = 0
) -> RawTask:
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
            "stamp": stamp,
        },
    )
    return RawTask(0, offset, value)


def make(history: ScriptedHistory | None = None, **kw: Any) -> tuple[Dispatcher, ScriptedHistory]:
    history = history or ScriptedHistory()
    dispatcher = Dispatcher(TaskQueues(lambda key: 0), history, clock=lambda: NOW, **kw)
    return dispatcher, history


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


def act_poll() -> wsv1.PollActivityTaskQueueRequest:
    return wsv1.PollActivityTaskQueueRequest(
        namespace=NS, task_queue=tq_pb2.TaskQueue(name=Q), identity="act-w"
    )


def act_raw(offset: int, workflow_id: str, stamp: int = 0) -> RawTask:
    prebuilt = wsv1.PollActivityTaskQueueResponse(activity_id=workflow_id)
    return raw(offset, workflow_id, "activity", prebuilt.SerializeToString(), stamp)


async def test_activity_start_is_recorded_in_history_before_the_worker_gets_it() -> None:
    d, history = make()
    d.on_records([act_raw(0, "wf-a")])
    response = await d.poll_activity_task(act_poll(), 5)
    assert response.activity_id == "wf-a" and response.started_time.ToMilliseconds() == NOW
    assert history.kinds == [RECORD_ACTIVITY_TASK_STARTED]
    (started,) = history.calls
    assert started.identity == "act-w" and started.task_token == b"wf-a"
    assert started.started_time_ms == NOW and started.request_id
    assert d.watermarks() == {0: 1}


async def test_activity_history_refuses_is_dropped_and_the_poll_gets_the_next_task() -> None:
    # A task read again after a crash: history says it is started (or gone); nobody gets it.
    history = ScriptedHistory([str(grpc.StatusCode.ALREADY_EXISTS.value[0]), "5", "ok"])
    d, _ = make(history)
    d.on_records([act_raw(0, "wf-a"), act_raw(1, "wf-b"), act_raw(2, "wf-c")])
    response = await d.poll_activity_task(act_poll(), 5)
    assert response.activity_id == "wf-c"
    assert d.metrics.stale == 2
    assert d.watermarks() == {0: 3}


async def test_an_activity_task_with_an_old_stamp_is_dropped_as_stale() -> None:
    # History's ObsoleteMatchingTask: an operator sent the activity out again since.
    history = ScriptedHistory([str(grpc.StatusCode.FAILED_PRECONDITION.value[0]), "ok"])
    d, _ = make(history)
    d.on_records([act_raw(0, "wf-a", stamp=3), act_raw(1, "wf-b", stamp=4)])
    response = await d.poll_activity_task(act_poll(), 5)
    assert response.activity_id == "wf-b"
    assert [c.stamp for c in history.calls] == [3, 4]
    assert d.metrics.stale == 1
    assert d.watermarks() == {0: 2}


async def test_activity_transient_failure_requeues_with_the_same_request_id() -> None:
    history = ScriptedHistory([TimeoutError(), str(grpc.StatusCode.UNAVAILABLE.value[0]), "ok"])
    d, _ = make(history)
    d.on_records([act_raw(0, "wf-a")])
    response = await d.poll_activity_task(act_poll(), 10)
    assert response.activity_id == "wf-a"
    assert len({c.request_id for c in history.calls}) == 1 and len(history.calls) == 3
    assert d.metrics.requeued == 2


async def test_activity_poll_cancelled_while_history_records_gives_the_task_up() -> None:
    gate = asyncio.Event()

    class SlowHistory(ScriptedHistory):
        async def call(self, *args: Any) -> Reply:
            self.kinds.append(args[2])
            await gate.wait()
            return Reply(0)

    history = SlowHistory()
    d, _ = make(history)
    d.on_records([act_raw(0, "wf-a")])
    poll = asyncio.create_task(d.poll_activity_task(act_poll(), 10))
    await until(lambda: history.kinds)
    poll.cancel()
    await asyncio.gather(poll, return_exceptions=True)
    # History may have recorded the start: the start-to-close timeout retries it, never us.
    assert d.backlog_size(NS, Q, "activity") == 0 and d.watermarks() == {0: 1}


async def _optimistic_dispatcher() -> tuple[Dispatcher, ScriptedHistory, list[Any]]:
    sent: list[RecordWorkflowTaskStarted] = []

    async def optimistic(message: RecordWorkflowTaskStarted) -> bool:
        sent.append(message)
        return True

    d, history = make(on_optimistic_start=optimistic)
    return d, history, sent


async def test_optimistic_start_only_for_tasks_no_earlier_owner_saw() -> None:
    d, history, sent = await _optimistic_dispatcher()
    started = HistoryEvent(event_id=3, event_type=EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)
    payload = wsv1.PollWorkflowTaskQueueResponse(
        task_token=b"template", history=History(events=[started]), started_event_id=3
    ).SerializeToString()
    d.assign({0: (2, None)})  # the partition ended at offset 2 when it was assigned
    d.on_records([raw(0, "wf-old", payload=payload), raw(2, "wf-new", payload=payload)])
    first = await d.poll_workflow_task(wf_poll(), 5)
    # Offset 0 may have gone out already under the previous owner: history decides.
    assert history.kinds == [RECORD_WORKFLOW_TASK_STARTED] and first.task_token == b"wf-old"
    assert sent == []
    second = await d.poll_workflow_task(wf_poll(), 5)
    assert second.task_token == b"template"  # answered from the record, before history
    assert [m.workflow_id for m in sent] == ["wf-new"] and len(history.calls) == 1
    assert sent[0].started_event_id == 3  # what the template showed, for history to check


async def test_tasks_the_previous_owner_finished_are_skipped() -> None:
    d, _ = make()
    key = QueueKey(NS, Q, "workflow", 1)  # the queue partition of offset 1 (offset % 4)
    # The previous owner had read up to offset 4 and left only offset 1 unfinished.
    d.assign({0: (4, Progress(4, {key: 1}))})
    d.on_records([raw(o, f"wf-{o}") for o in range(5)])
    assert d.backlog_size(NS, Q, "workflow") == 2  # offset 1, and 4 (never read before)
    assert d.metrics.finished_before == 3
    assert d.watermarks() == {0: 1}
    first = await d.poll_workflow_task(wf_poll(), 5)
    assert first.task_token == b"wf-1"
    assert d.progress() == {0: Progress(5, {QueueKey(NS, Q, "workflow", 0): 4})}


async def test_undecodable_record_is_dead_lettered_and_skipped_not_stuck() -> None:
    letters: list[tuple[RawTask, str]] = []
    d = Dispatcher(
        TaskQueues(lambda key: 0),
        ScriptedHistory(),
        clock=lambda: NOW,
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
    (final,) = d.revoke({0}).values()
    assert final.commit_offset == 0 and final.next_offset == 1
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


async def test_spilled_tasks_are_asked_for_again_and_dispatched_in_order() -> None:
    asked: list[dict[int, list[int]]] = []
    d = Dispatcher(
        TaskQueues(lambda key: 0, max_backlog=2),
        ScriptedHistory(),
        clock=lambda: NOW,
        on_reload=asked.append,
    )
    # Offsets 4 apart: all on queue partition 0 (the test records' partition is offset % 4).
    records = [act_raw(4 * i, f"wf-{i}") for i in range(4)]
    d.on_records(records)
    assert d.backlog_size(NS, Q, "activity") == 4 and d.metrics.spilled == 2
    got = [(await d.poll_activity_task(act_poll(), 5)).activity_id for _ in range(2)]
    d.expire()
    assert asked == [{0: [8]}]
    d.on_reloaded([records[2]], {})
    got.append((await d.poll_activity_task(act_poll(), 5)).activity_id)
    d.expire()
    assert asked[-1] == {0: [12]}
    d.on_reloaded([], {0: [12]})  # not found this time: asked for again
    d.expire()
    assert asked[-1] == {0: [12]}
    d.on_reloaded([records[3]], {})
    got.append((await d.poll_activity_task(act_poll(), 5)).activity_id)
    assert got == ["wf-0", "wf-1", "wf-2", "wf-3"]
    assert d.watermarks() == {0: 13}
