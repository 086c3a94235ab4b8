"""The shard keeps every run of a workflow id: a replaced run stays readable by its run id,
live and after a restore from the changelog."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import EventType, WorkflowExecutionStatus
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    DescribeWorkflowExecutionResponse,
    GetWorkflowExecutionHistoryRequest,
    GetWorkflowExecutionHistoryResponse,
    StartWorkflowExecutionRequest,
    StartWorkflowExecutionResponse,
    TerminateWorkflowExecutionRequest,
)

import schemas
from history_processor import store
from history_processor.processor import HistoryProcessor
from schemas import inbox
from schemas.reply import Code
from schemas.topics import Topology
from streams import MemoryStore, StateTransaction

TOPOLOGY = Topology("runs", shards=1, task_partitions=1, reply_partitions=1)
REPLY_TO = {"topic": TOPOLOGY.replies, "partition": 0}


@dataclass
class _Message:
    payload: bytes

    def topic(self) -> str:
        return TOPOLOGY.inbox

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return 1

    def key(self) -> bytes:
        return b"default/wf"

    def value(self) -> bytes:
        return self.payload


def _fresh_state() -> StateTransaction:
    return StateTransaction(MemoryStore().open_partition(0))


@dataclass
class _Context:
    """The part of streams.Context the processor uses, keeping the changelog it emits."""

    processor: HistoryProcessor
    partition: int = 0
    state: StateTransaction = field(default_factory=_fresh_state)
    changelog: list[tuple[bytes | None, bytes]] = field(default_factory=list)
    replies: list[dict[str, Any]] = field(default_factory=list)

    def emit(self, key: bytes | None, value: bytes) -> None:
        self.changelog.append((key, value))
        self.processor.apply(self.state, key, value)

    def send(self, topic: str, value: bytes, key: Any = None, partition: Any = None) -> None:
        pass

    def send_after_commit(
        self, topic: str, value: bytes, key: Any = None, partition: Any = None
    ) -> None:
        self.replies.append(schemas.decode(value, schemas.REPLY))


def _call(ctx: _Context, kind: str, request: Any) -> dict[str, Any]:
    record = inbox.command_record(
        f"cmd-{len(ctx.replies)}",
        "default",
        "wf",
        kind,
        request.SerializeToString(),
        1,
        REPLY_TO,  # type: ignore[arg-type]
    )
    ctx.processor.process(ctx, _Message(schemas.encode(schemas.INBOX_COMMAND, record)))  # type: ignore[arg-type]
    return ctx.replies[-1]


def _start(ctx: _Context, request_id: str) -> str:
    request = StartWorkflowExecutionRequest(
        namespace="default",
        workflow_id="wf",
        request_id=request_id,
        workflow_type=WorkflowType(name="W"),
        task_queue=TaskQueue(name="q"),
    )
    reply = _call(ctx, "StartWorkflowExecution", request)
    return StartWorkflowExecutionResponse.FromString(reply["payload"]).run_id


def _describe(ctx: _Context, run_id: str) -> dict[str, Any]:
    request = DescribeWorkflowExecutionRequest(
        namespace="default", execution=WorkflowExecution(workflow_id="wf", run_id=run_id)
    )
    return _call(ctx, "DescribeWorkflowExecution", request)


def _two_runs() -> tuple[_Context, str, str]:
    processor = HistoryProcessor(TOPOLOGY, lambda name: f"id-{name}", clock=lambda: 1_700_000_000)
    ctx = _Context(processor)
    first = _start(ctx, "r-1")
    terminate = TerminateWorkflowExecutionRequest(
        namespace="default", workflow_execution=WorkflowExecution(workflow_id="wf"), reason="x"
    )
    _call(ctx, "TerminateWorkflowExecution", terminate)
    second = _start(ctx, "r-2")
    return ctx, first, second


def test_a_replaced_run_is_described_and_read_by_its_run_id() -> None:
    ctx, first, second = _two_runs()
    assert first != second
    old = DescribeWorkflowExecutionResponse.FromString(_describe(ctx, first)["payload"])
    assert old.workflow_execution_info.execution.run_id == first
    assert old.workflow_execution_info.status == (
        WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED
    )
    current = DescribeWorkflowExecutionResponse.FromString(_describe(ctx, "")["payload"])
    assert current.workflow_execution_info.execution.run_id == second
    history_request = GetWorkflowExecutionHistoryRequest(
        namespace="default", execution=WorkflowExecution(workflow_id="wf", run_id=first)
    )
    reply = _call(ctx, "GetWorkflowExecutionHistory", history_request)
    events = GetWorkflowExecutionHistoryResponse.FromString(reply["payload"]).history.events
    assert events[0].workflow_execution_started_event_attributes.original_execution_run_id == (
        first
    )
    assert events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED
    # A run id the workflow never had is still NOT_FOUND.
    assert _describe(ctx, "no-such-run")["status_code"] == Code.NOT_FOUND


def test_a_restore_from_the_changelog_keeps_every_run() -> None:
    ctx, first, second = _two_runs()
    restored = _fresh_state()
    fresh = HistoryProcessor(TOPOLOGY, lambda name: f"id-{name}")
    for key, value in ctx.changelog:
        fresh.apply(restored, key, value)  # the restore path: records folded from bytes
    old = store.load_run(restored, "default", "wf", first)
    assert old is not None and old.run_id == first and not old.is_running
    assert old == store.load_run(ctx.state, "default", "wf", first)
    current = store.load_state(restored, "default", "wf")
    assert current is not None and current.run_id == second
    assert store.load_run(restored, "default", "wf", "") == current
