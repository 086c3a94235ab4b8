"""Query tasks in matching: sync match only, the poller's response, the answer (no Kafka)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import grpc
from temporalio.api.common.v1 import Payload, Payloads, WorkflowExecution
from temporalio.api.enums.v1 import QueryResultType, TaskQueueKind
from temporalio.api.errordetails.v1 import QueryFailedFailure
from temporalio.api.history.v1 import History, HistoryEvent
from temporalio.api.query.v1 import WorkflowQuery
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueRequest,
    PollWorkflowTaskQueueResponse,
    QueryWorkflowResponse,
    RespondQueryTaskCompletedRequest,
)

from matching_processor import api
from matching_processor.dispatcher import Dispatcher
from matching_processor.queues import Poller, QueryTask, QueueKey, TaskQueues
from schemas import tokens
from schemas.clients.matching import MatchingClient
from schemas.inbox import GetQueryTask
from schemas.queries import (
    NO_RECENT_POLLER,
    QUERY_TASK_NOT_FOUND,
    STICKY_WORKER_UNAVAILABLE,
    QueryDispatch,
    QueryTaskCompleted,
    QueryTaskRequest,
    decode_reply,
    encode_reply,
)
from schemas.reply import Code, Reply

NS, Q, STICKY = "default", "orders", "worker-1-sticky"
NOW = 1_700_000_000_000


@dataclass
class FakeHistory:
    """Answers GetQueryTask with a two-event history, or a scripted error."""

    script: list[Any] = field(default_factory=list)
    calls: list[GetQueryTask] = field(default_factory=list)

    async def call(
        self, namespace: str, workflow_id: str, kind: str, request: Any, timeout: float
    ) -> Reply:
        assert kind == "GetQueryTask"
        message = GetQueryTask.from_bytes(request.SerializeToString())
        self.calls.append(message)
        outcome = self.script.pop(0) if self.script else "ok"
        if isinstance(outcome, BaseException):
            raise outcome
        if isinstance(outcome, Reply):
            return outcome
        events = [HistoryEvent(event_id=1), HistoryEvent(event_id=2)]
        return Reply.of(
            PollWorkflowTaskQueueResponse(
                workflow_execution=WorkflowExecution(workflow_id=workflow_id),
                history=History(events=[] if message.task_queue == STICKY else events),
            )
        )


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> int:
        return self.now


def make(history: FakeHistory | None = None, clock: Clock | None = None) -> Dispatcher:
    dispatcher = Dispatcher(
        TaskQueues(lambda key: 0),
        history or FakeHistory(),
        clock=clock or Clock(),
    )
    dispatcher.queries.address = "10.0.0.7:7235"
    return dispatcher


def task(sticky: bool = False) -> QueryTaskRequest:
    return QueryTaskRequest(
        namespace=NS,
        namespace_id="ns-id",
        workflow_id="wf-1",
        run_id="run-1",
        task_queue=STICKY if sticky else Q,
        sticky=sticky,
        tq_partition=2,
        query=WorkflowQuery(query_type="status").SerializeToString(),
    )


def poll(sticky: bool = False) -> PollWorkflowTaskQueueRequest:
    queue = (
        TaskQueue(name=STICKY, kind=TaskQueueKind.TASK_QUEUE_KIND_STICKY, normal_name=Q)
        if sticky
        else TaskQueue(name=Q)
    )
    return PollWorkflowTaskQueueRequest(namespace=NS, task_queue=queue, identity="w")


def answered(data: bytes) -> RespondQueryTaskCompletedRequest:
    return RespondQueryTaskCompletedRequest(
        completed_type=QueryResultType.QUERY_RESULT_TYPE_ANSWERED,
        query_result=Payloads(payloads=[Payload(data=data)]),
    )


def answer_of(reply: Reply) -> bytes:
    assert reply.ok, reply
    response = QueryWorkflowResponse.FromString(QueryDispatch.from_bytes(reply.payload).response)
    return response.query_result.payloads[0].data


async def until(predicate: Any) -> None:
    for _ in range(400):
        if predicate():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition never held")


# -- the queue core -------------------------------------------------------------------------


def test_a_query_goes_to_a_waiting_poller_or_waits_for_the_next_one_before_backlog() -> None:
    queues = TaskQueues(lambda key: 0)
    key = QueueKey(NS, Q, "workflow", 0)
    waiting = Poller((key,))
    assert queues.poll(waiting, NOW) is None
    first = QueryTask("q1", key, None)
    assert queues.offer_query(first) is waiting
    assert waiting.task is first and not first.waiting
    second, third = QueryTask("q2", key, None), QueryTask("q3", key, None)
    assert queues.offer_query(second) is None and second.waiting
    assert queues.offer_query(third, first=True) is None
    assert queues.poll(Poller((key,)), NOW) is third
    assert queues.withdraw_query(second)
    assert not queues.withdraw_query(second)
    assert queues.poll(Poller((key,)), NOW) is None
    assert queues.metrics.query_matches == 2


def test_pollers_seen_now_or_lately() -> None:
    queues = TaskQueues(lambda key: 0)
    key, other = QueueKey(NS, STICKY, "workflow", 0), QueueKey(NS, "x", "workflow", 0)
    assert not queues.poller_seen_since((key,), NOW - 10_000)
    poller = Poller((key,))
    queues.poll(poller, NOW - 60_000)
    assert queues.poller_seen_since((key,), NOW)  # waiting right now
    queues.cancel(poller, NOW - 30_000)
    assert queues.poller_seen_since((key,), NOW - 40_000)
    assert not queues.poller_seen_since((key,), NOW - 10_000)
    assert not queues.poller_seen_since((other,), NOW - 100_000)
    queues.forget_polls_before(NOW - 20_000)
    assert not queues.poller_seen_since((key,), NOW - 100_000)


# -- dispatch, the poller's response, the answer --------------------------------------------


async def test_query_reaches_a_waiting_poller_and_returns_its_answer() -> None:
    history = FakeHistory()
    d = make(history)
    polling = asyncio.create_task(d.poll_workflow_task(poll(), 30))
    await until(lambda: d.waiting_polls(NS, Q, "workflow") == 1)
    querying = asyncio.create_task(d.queries.dispatch(task(), 10))
    response = await polling
    assert response.query.query_type == "status"
    assert [e.event_id for e in response.history.events] == [1, 2]
    token = tokens.decode_query_token(response.task_token)
    assert (token.namespace_id, token.task_queue) == ("ns-id", Q)
    assert token.matching_address == "10.0.0.7:7235"
    assert history.calls == [GetQueryTask(NS, "wf-1", "run-1", Q)]
    assert d.queries.complete(token.task_id, answered(b"42")).ok
    assert answer_of(await querying) == b"42"
    again = d.queries.complete(token.task_id, answered(b"43"))
    assert (again.status_code, again.message) == (Code.NOT_FOUND, QUERY_TASK_NOT_FOUND)
    assert d.queries.waiting == 0


async def test_query_waits_for_the_next_poller_and_a_failed_answer_is_query_failed() -> None:
    d = make()
    querying = asyncio.create_task(d.queries.dispatch(task(), 10))
    await until(lambda: d.queries.waiting == 1)
    response = await d.poll_workflow_task(poll(), 5)
    token = tokens.decode_query_token(response.task_token)
    failed = RespondQueryTaskCompletedRequest(
        completed_type=QueryResultType.QUERY_RESULT_TYPE_FAILED, error_message="no"
    )
    assert d.queries.complete(token.task_id, failed).ok
    reply = await querying
    assert (reply.status_code, reply.message) == (Code.INVALID_ARGUMENT, "no")
    assert reply.details_type == QueryFailedFailure.DESCRIPTOR.full_name


async def test_sticky_queue_without_recent_poller_is_unavailable_at_once() -> None:
    d = make()
    reply = await d.queries.dispatch(task(sticky=True), 10)
    assert (reply.status_code, reply.message) == (Code.UNAVAILABLE, STICKY_WORKER_UNAVAILABLE)
    sticky_poll = asyncio.create_task(d.poll_workflow_task(poll(sticky=True), 30))
    await until(lambda: d.queries.waiting == 0 and len(d._futures) == 1)
    querying = asyncio.create_task(d.queries.dispatch(task(sticky=True), 10))
    response = await sticky_poll
    assert list(response.history.events) == []  # the sticky worker has the run cached
    token = tokens.decode_query_token(response.task_token)
    assert token.task_queue == STICKY
    d.queries.complete(token.task_id, answered(b"1"))
    assert answer_of(await querying) == b"1"


async def test_deadline_and_no_recent_poller() -> None:
    clock = Clock()
    d = make(clock=clock)
    d._queues.poll(Poller((QueueKey(NS, Q, "workflow", 2),)), NOW)  # seen just now
    reply = await d.queries.dispatch(task(), 1.2)
    assert reply.status_code == Code.DEADLINE_EXCEEDED
    clock.now = NOW + 25_000  # nobody polled for 25 s
    reply = await d.queries.dispatch(task(), 1.2)
    assert (reply.status_code, reply.message) == (Code.FAILED_PRECONDITION, NO_RECENT_POLLER)
    assert d.queries.waiting == 0


async def test_history_error_fails_the_query_and_the_poll_goes_on() -> None:
    history = FakeHistory([Reply.error(Code.NOT_FOUND, "workflow not found for ID: wf-1")])
    d = make(history)
    polling = asyncio.create_task(d.poll_workflow_task(poll(), 30))
    await until(lambda: d.waiting_polls(NS, Q, "workflow") == 1)
    reply = await d.queries.dispatch(task(), 10)
    assert (reply.status_code, reply.message) == (Code.NOT_FOUND, "workflow not found for ID: wf-1")
    await until(lambda: d.waiting_polls(NS, Q, "workflow") == 1)  # waiting again
    polling.cancel()
    await asyncio.gather(polling, return_exceptions=True)


async def test_poller_gone_during_the_history_call_leaves_the_query_to_the_next() -> None:
    gate = asyncio.Event()

    class SlowHistory(FakeHistory):
        async def call(self, *args: Any) -> Reply:
            await gate.wait()
            return await super().call(*args)

    d = make(SlowHistory())
    polling = asyncio.create_task(d.poll_workflow_task(poll(), 30))
    await until(lambda: d.waiting_polls(NS, Q, "workflow") == 1)
    querying = asyncio.create_task(d.queries.dispatch(task(), 10))
    await asyncio.sleep(0.05)
    polling.cancel()
    await asyncio.gather(polling, return_exceptions=True)
    gate.set()
    response = await d.poll_workflow_task(poll(), 5)
    assert response.query.query_type == "status"
    d.queries.complete(tokens.decode_query_token(response.task_token).task_id, answered(b"2"))
    assert answer_of(await querying) == b"2"


async def test_close_fails_waiting_queries() -> None:
    d = make()
    d._queues.poll(Poller((QueueKey(NS, Q, "workflow", 2),)), NOW)
    querying = asyncio.create_task(d.queries.dispatch(task(), 10))
    await until(lambda: d.queries.waiting == 1)
    d.close()
    reply = await querying
    assert reply.status_code == Code.UNAVAILABLE
    assert (await d.queries.dispatch(task(), 10)).status_code == Code.UNAVAILABLE


# -- the client and matching's internal gRPC methods ------------------------------------------


class OneMember:
    """A MatchingDirectory stand-in: one member owns every partition."""

    def __init__(self, address: str) -> None:
        self.address = address

    async def owners(self) -> dict[int, str]:
        return {p: self.address for p in range(4)}

    async def n_partitions(self) -> int:
        return 4

    def invalidate(self) -> None:
        pass


async def test_client_and_server_speak_the_same_query_methods() -> None:
    seen: list[QueryTaskRequest] = []

    async def query_workflow(data: bytes, context: Any) -> bytes:
        seen.append(QueryTaskRequest.from_bytes(data))
        return encode_reply(Reply.error(Code.DEADLINE_EXCEEDED, "late"))

    async def respond(data: bytes, context: Any) -> bytes:
        message = QueryTaskCompleted.from_bytes(data)
        return encode_reply(Reply(message=message.task_id))

    async def unused(request: Any, context: Any) -> Any:
        raise AssertionError("no polls here")

    server = grpc.aio.server()
    handler = api.generic_handler(
        unused,
        unused,
        unused,
        unused,
        query_workflow=query_workflow,
        respond_query_task_completed=respond,
    )
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    address = f"127.0.0.1:{port}"
    client = MatchingClient(OneMember(address))  # type: ignore[arg-type]
    try:
        loop = asyncio.get_running_loop()
        reply = await client.query_workflow(task(), loop.time() + 5)
        assert (reply.status_code, reply.message) == (Code.DEADLINE_EXCEEDED, "late")
        assert seen[0].task_queue == Q and 0 <= seen[0].tq_partition < 4
        sticky = await client.query_workflow(task(sticky=True), loop.time() + 5)
        assert sticky.status_code == Code.DEADLINE_EXCEEDED and seen[1].tq_partition == 0
        answer = QueryTaskCompleted("t-9", b"")
        assert (await client.respond_query_task_completed(address, answer, 5)).message == "t-9"
        # The process holding the query is gone: so is the query.
        gone = await client.respond_query_task_completed("127.0.0.1:1", answer, 5)
        assert (gone.status_code, gone.message) == (Code.NOT_FOUND, QUERY_TASK_NOT_FOUND)
        assert decode_reply(encode_reply(gone)) == gone
    finally:
        await client.close()
        await server.stop(0)
