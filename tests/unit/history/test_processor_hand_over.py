"""A history process giving a shard up answers the callers still waiting on it (no Kafka)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import HistoryEventFilterType
from temporalio.api.query.v1 import WorkflowQuery
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    GetWorkflowExecutionHistoryRequest,
    QueryWorkflowRequest,
    StartWorkflowExecutionRequest,
)

import schemas
from history_processor.processor import HistoryProcessor
from schemas import inbox
from schemas.inbox import QueryWorkflow
from schemas.reply import Code, Reply
from schemas.topics import Topology
from streams import MemoryStore, StateTransaction
from tests.unit.history.inbox_message import InboxMessage

TOPOLOGY = Topology("handover", shards=2, task_partitions=1, reply_partitions=1)
REPLY_TO = {"topic": TOPOLOGY.replies, "partition": 0}
NOW_S = 1_700_000_000


@dataclass
class _Context:
    """The part of streams.Context the processor uses, keeping the replies it sends."""

    direct = False  # an input read from the inbox, not sent directly

    processor: HistoryProcessor
    partition: int
    state: StateTransaction = field(
        default_factory=lambda: StateTransaction(MemoryStore().open_partition(0))
    )
    replies: list[dict[str, Any]] = field(default_factory=list)

    def emit(self, key: bytes | None, value: bytes) -> None:
        self.processor.apply(self.state, key, value)

    def send(self, topic: str, value: bytes, key: Any = None, partition: Any = None) -> None:
        pass

    def send_after_commit(
        self,
        topic: str,
        value: bytes,
        key: Any = None,
        partition: Any = None,
        datagram: str | None = None,
    ) -> None:
        self.replies.append(schemas.decode(value, schemas.REPLY))


def _send(ctx: _Context, command_id: str, workflow_id: str, kind: str, request: Any) -> None:
    record = inbox.command_record(
        command_id,
        "default",
        workflow_id,
        kind,
        request.SerializeToString(),
        1,
        REPLY_TO,  # type: ignore[arg-type]
    )
    message = InboxMessage(
        schemas.encode(schemas.INBOX_COMMAND, record), TOPOLOGY.inbox, shard=ctx.partition
    )
    ctx.processor.process(ctx, message)  # type: ignore[arg-type]


def _start(ctx: _Context, workflow_id: str) -> None:
    request = StartWorkflowExecutionRequest(
        namespace="default",
        workflow_id=workflow_id,
        request_id=f"start-{workflow_id}",
        workflow_type=WorkflowType(name="W"),
        task_queue=TaskQueue(name="q"),
    )
    _send(ctx, f"start-{workflow_id}", workflow_id, "StartWorkflowExecution", request)


def _await_close(ctx: _Context, command_id: str, workflow_id: str) -> None:
    """What a client awaiting the result sends: a CLOSE_EVENT long poll."""
    request = GetWorkflowExecutionHistoryRequest(
        namespace="default",
        execution=WorkflowExecution(workflow_id=workflow_id),
        wait_new_event=True,
        history_event_filter_type=HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
    )
    _send(ctx, command_id, workflow_id, "GetWorkflowExecutionHistory", request)


def _query(ctx: _Context, command_id: str, workflow_id: str) -> None:
    """A query before the first workflow task completed: history keeps it waiting."""
    request = QueryWorkflowRequest(
        namespace="default",
        execution=WorkflowExecution(workflow_id=workflow_id),
        query=WorkflowQuery(query_type="status"),
    )
    message = QueryWorkflow(request.SerializeToString(), (NOW_S + 60) * 1000)
    _send(ctx, command_id, workflow_id, inbox.QUERY_WORKFLOW, message)


def _answered(ctx: _Context) -> dict[str, dict[str, Any]]:
    return {reply["command_id"]: reply for reply in ctx.replies}


def test_parked_reads_and_waiting_queries_are_sent_on_when_the_shard_is_handed_over() -> None:
    processor = HistoryProcessor(TOPOLOGY, lambda name: f"id-{name}", clock=lambda: NOW_S)
    kept, given_up = _Context(processor, partition=0), _Context(processor, partition=1)
    for ctx in (kept, given_up):
        _start(ctx, f"wf-{ctx.partition}")
        _await_close(ctx, f"read-{ctx.partition}", f"wf-{ctx.partition}")
        _query(ctx, f"query-{ctx.partition}", f"wf-{ctx.partition}")
        assert set(_answered(ctx)) == {f"start-wf-{ctx.partition}"}  # both wait

    processor.hand_over(given_up)  # type: ignore[arg-type]

    answered = _answered(given_up)
    assert set(answered) == {"start-wf-1", "read-1", "query-1"}
    for command_id in ("read-1", "query-1"):
        reply = Reply.from_record(answered[command_id])  # type: ignore[arg-type]
        assert reply.moved and reply.status_code == Code.UNAVAILABLE
    # The other shard's callers still wait, and nothing of the given-up shard is answered twice.
    assert set(_answered(kept)) == {"start-wf-0"}
    processor.hand_over(given_up)  # type: ignore[arg-type]
    assert len(given_up.replies) == 3


def test_a_hand_over_with_nobody_waiting_answers_nothing() -> None:
    processor = HistoryProcessor(TOPOLOGY, lambda name: f"id-{name}", clock=lambda: NOW_S)
    ctx = _Context(processor, partition=0)
    _start(ctx, "wf")
    processor.hand_over(ctx)  # type: ignore[arg-type]
    assert [reply["command_id"] for reply in ctx.replies] == ["start-wf"]
