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
    GetWorkflowExecutionHistoryReverseRequest,
    RequestCancelWorkflowExecutionRequest,
    SignalWorkflowExecutionRequest,
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
from tests.unit.history.inbox_message import InboxMessage

TOPOLOGY = Topology("runs", shards=1, task_partitions=1, reply_partitions=1)
REPLY_TO = {"topic": TOPOLOGY.replies, "partition": 0}


def _fresh_state() -> StateTransaction:
    return StateTransaction(MemoryStore().open_partition(0))


@dataclass
class _Context:
    """The part of streams.Context the processor uses, keeping the changelog it emits."""

    direct = False  # an input read from the inbox, not sent directly

    processor: HistoryProcessor
    partition: int = 0
    state: StateTransaction = field(default_factory=_fresh_state)
    changelog: list[tuple[bytes | None, bytes]] = field(default_factory=list)
    replies: list[dict[str, Any]] = field(default_factory=list)
    datagrams: list[str | None] = field(default_factory=list)

    def emit(self, key: bytes | None, value: bytes) -> None:
        self.changelog.append((key, value))
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
        self.datagrams.append(datagram)


def _call(ctx: _Context, kind: str, request: Any, datagram: str | None = None) -> dict[str, Any]:
    record = inbox.command_record(
        f"cmd-{len(ctx.replies)}",
        "default",
        "wf",
        kind,
        request.SerializeToString(),
        1,
        REPLY_TO,  # type: ignore[arg-type]
        datagram,
    )
    ctx.processor.process(
        ctx, InboxMessage(schemas.encode(schemas.INBOX_COMMAND, record), TOPOLOGY.inbox)
    )  # type: ignore[arg-type]
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


def test_requests_for_an_older_run_get_temporals_answers() -> None:
    ctx, first, second = _two_runs()
    old = WorkflowExecution(workflow_id="wf", run_id=first)
    signal = SignalWorkflowExecutionRequest(
        namespace="default", workflow_execution=old, signal_name="s", request_id="s-1"
    )
    reply = _call(ctx, "SignalWorkflowExecution", signal)
    assert (reply["status_code"], reply["message"]) == (
        Code.NOT_FOUND,
        "workflow execution already completed",
    )
    terminate = TerminateWorkflowExecutionRequest(namespace="default", workflow_execution=old)
    reply = _call(ctx, "TerminateWorkflowExecution", terminate)
    assert reply["message"] == "workflow execution already completed"
    # Canceling a closed run succeeds and writes nothing.
    before = len(ctx.changelog)
    cancel = RequestCancelWorkflowExecutionRequest(
        namespace="default", workflow_execution=old, request_id="c-1"
    )
    assert _call(ctx, "RequestCancelWorkflowExecution", cancel)["status_code"] == Code.OK
    assert len(ctx.changelog) == before
    current = store.load_state(ctx.state, "default", "wf")
    assert current is not None and current.run_id == second and current.is_running


def test_a_run_id_the_workflow_never_had_is_not_found() -> None:
    ctx, _, _ = _two_runs()
    unknown = WorkflowExecution(workflow_id="wf", run_id="nope")
    message = 'workflow execution not found for workflow ID "wf" and run ID "nope"'
    requests: list[tuple[str, Any]] = [
        ("DescribeWorkflowExecution", DescribeWorkflowExecutionRequest(execution=unknown)),
        ("GetWorkflowExecutionHistory", GetWorkflowExecutionHistoryRequest(execution=unknown)),
        (
            "GetWorkflowExecutionHistoryReverse",
            GetWorkflowExecutionHistoryReverseRequest(execution=unknown),
        ),
        (
            "SignalWorkflowExecution",
            SignalWorkflowExecutionRequest(
                workflow_execution=unknown, signal_name="s", request_id="s-2"
            ),
        ),
        (
            "TerminateWorkflowExecution",
            TerminateWorkflowExecutionRequest(workflow_execution=unknown),
        ),
    ]
    for kind, request in requests:
        request.namespace = "default"
        reply = _call(ctx, kind, request)
        assert (reply["status_code"], reply["message"]) == (Code.NOT_FOUND, message), kind


def test_the_live_store_holds_exactly_what_a_restore_folds() -> None:
    # The processor stores the decider's own fold of each batch rather than folding it again:
    # what it keeps must be byte for byte the fold of the committed records.
    ctx, _, _ = _two_runs()
    signal = SignalWorkflowExecutionRequest(
        namespace="default",
        workflow_execution=WorkflowExecution(workflow_id="wf"),
        signal_name="s",
        request_id="s-1",
    )
    assert _call(ctx, "SignalWorkflowExecution", signal)["status_code"] == Code.OK
    restored = _fresh_state()
    fresh = HistoryProcessor(TOPOLOGY, lambda name: f"id-{name}")
    for key, value in ctx.changelog:
        fresh.apply(restored, key, value)  # the restore path: records folded from bytes
    live = list(ctx.state.items(b""))
    assert {key[:1] for key, _ in live} >= {b"r", b"c", b"e"}  # states of both runs, events
    assert live == list(restored.items(b""))


def test_a_reply_also_goes_to_the_datagram_address_its_command_names() -> None:
    processor = HistoryProcessor(TOPOLOGY, lambda name: f"id-{name}", clock=lambda: 1_700_000_000)
    ctx = _Context(processor)
    run_id = _start(ctx, "r-1")
    described = _call(
        ctx,
        "DescribeWorkflowExecution",
        DescribeWorkflowExecutionRequest(
            namespace="default", execution=WorkflowExecution(workflow_id="wf", run_id=run_id)
        ),
        datagram="127.0.0.1:4000",
    )
    assert described["status_code"] == Code.OK
    assert ctx.datagrams == [None, "127.0.0.1:4000"]
