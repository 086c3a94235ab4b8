"""DeleteWorkflowExecution on the processor: what it writes to the changelog, and that no
restore from that changelog (compacted or not) brings the deleted run back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from google.protobuf.duration_pb2 import Duration
from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import EventType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DeleteWorkflowExecutionRequest,
    DescribeWorkflowExecutionRequest,
    GetWorkflowExecutionHistoryRequest,
    GetWorkflowExecutionHistoryResponse,
    ResetWorkflowExecutionRequest,
    ResetWorkflowExecutionResponse,
    StartWorkflowExecutionRequest,
    StartWorkflowExecutionResponse,
    TerminateWorkflowExecutionRequest,
)

import schemas
from history_processor import store
from history_processor.deletion import RUN_DELETED
from history_processor.processor import HistoryProcessor
from history_processor.state import WorkflowStatus
from schemas import inbox
from schemas.reply import Code
from schemas.topics import Topology
from streams import MemoryStore, StateTransaction
from tests.unit.history.inbox_message import InboxMessage

TOPOLOGY = Topology("delete", shards=1, task_partitions=1, reply_partitions=1)
REPLY_TO = {"topic": TOPOLOGY.replies, "partition": 0}


def _fresh_state() -> StateTransaction:
    return StateTransaction(MemoryStore().open_partition(0))


@dataclass
class _Context:
    """The part of streams.Context the processor uses, keeping what it writes."""

    direct = False  # an input read from the inbox, not sent directly

    processor: HistoryProcessor
    partition: int = 0
    state: StateTransaction = field(default_factory=_fresh_state)
    changelog: list[tuple[bytes | None, bytes | None]] = field(default_factory=list)
    sent: list[tuple[str, bytes]] = field(default_factory=list)
    replies: list[dict[str, Any]] = field(default_factory=list)

    def emit(self, key: bytes | None, value: bytes | None) -> None:
        self.changelog.append((key, value))
        self.processor.apply(self.state, key, value)

    def send(self, topic: str, value: bytes, key: Any = None, partition: Any = None) -> None:
        self.sent.append((topic, value))

    def send_after_commit(
        self,
        topic: str,
        value: bytes,
        key: Any = None,
        partition: Any = None,
        datagram: str | None = None,
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
        workflow_run_timeout=Duration(seconds=3600),
    )
    reply = _call(ctx, "StartWorkflowExecution", request)
    return StartWorkflowExecutionResponse.FromString(reply["payload"]).run_id


def _delete(ctx: _Context, run_id: str = "") -> dict[str, Any]:
    request = DeleteWorkflowExecutionRequest(
        namespace="default", workflow_execution=WorkflowExecution(workflow_id="wf", run_id=run_id)
    )
    return _call(ctx, "DeleteWorkflowExecution", request)


def _run_keys(state: StateTransaction) -> list[bytes]:
    """Every stored key of workflow "wf": states, events and timers."""
    needle = store.state_key("default", "wf")[1:]
    return [key for key, _ in state.items(b"", None) if needle in key]


def _processor() -> HistoryProcessor:
    return HistoryProcessor(TOPOLOGY, lambda name: f"id-{name}", clock=lambda: 1_700_000_000)


def _deleted_running_run() -> tuple[_Context, str]:
    ctx = _Context(_processor())
    run_id = _start(ctx, "r-1")
    assert store.load_state(ctx.state, "default", "wf") is not None
    assert any(k.startswith(b"t") for k in _run_keys(ctx.state))  # its run timeout
    assert _delete(ctx)["status_code"] == Code.OK
    return ctx, run_id


def _restore(changelog: list[tuple[bytes | None, bytes | None]]) -> StateTransaction:
    restored = _fresh_state()
    fresh = HistoryProcessor(TOPOLOGY, lambda name: f"id-{name}")
    for key, value in changelog:
        fresh.apply(restored, key, value)
    return restored


def _compacted(changelog: list[tuple[bytes | None, bytes | None]]) -> list[tuple[Any, Any]]:
    """What log compaction leaves: the last record of each key, tombstones gone too."""
    last = {key: index for index, (key, _) in enumerate(changelog)}
    return [
        (key, value)
        for index, (key, value) in enumerate(changelog)
        if last[key] == index and value is not None
    ]


def test_a_running_run_is_terminated_then_removed() -> None:
    ctx, run_id = _deleted_running_run()
    assert _run_keys(ctx.state) == []
    # The last batch of the run terminated it, with Temporal's reason.
    batches = [schemas.decode(v, schemas.EVENT_BATCH) for _, v in ctx.changelog if v is not None]
    terminated = [b for b in batches if b["last_event_id"] and b["run_id"] == run_id][-1]
    assert b"Delete workflow execution" in terminated["events"]
    # The delete marker, then one tombstone per batch key, the marker's included.
    tombstones = [key for key, value in ctx.changelog if value is None]
    assert tombstones == [key for key, value in ctx.changelog if value is not None]
    marker_key, marker_value = ctx.changelog[-len(tombstones) - 1]
    assert marker_value is not None and marker_key == tombstones[-1]
    assert schemas.decode(marker_value, schemas.EVENT_BATCH)["updates"][0]["kind"] == RUN_DELETED
    # Visibility: the document's delete, above every version the run had.
    records = [
        schemas.decode(v, schemas.VISIBILITY_RECORD)
        for topic, v in ctx.sent
        if topic == TOPOLOGY.visibility
    ]
    assert records[-1]["deleted"] and records[-1]["run_id"] == run_id
    assert records[-1]["version"] > max(r["version"] for r in records[:-1])


def test_reads_answer_not_found_and_the_id_starts_again() -> None:
    ctx, run_id = _deleted_running_run()
    describe = DescribeWorkflowExecutionRequest(
        namespace="default", execution=WorkflowExecution(workflow_id="wf")
    )
    reply = _call(ctx, "DescribeWorkflowExecution", describe)
    assert reply["status_code"] == Code.NOT_FOUND
    assert reply["message"] == "workflow not found for ID: wf"
    history = GetWorkflowExecutionHistoryRequest(
        namespace="default", execution=WorkflowExecution(workflow_id="wf", run_id=run_id)
    )
    assert _call(ctx, "GetWorkflowExecutionHistory", history)["status_code"] == Code.NOT_FOUND
    assert _delete(ctx)["status_code"] == Code.NOT_FOUND  # as on the dev server
    again = _start(ctx, "r-2")
    assert again != run_id
    current = GetWorkflowExecutionHistoryRequest(
        namespace="default", execution=WorkflowExecution(workflow_id="wf")
    )
    reply = _call(ctx, "GetWorkflowExecutionHistory", current)
    events = GetWorkflowExecutionHistoryResponse.FromString(reply["payload"]).history.events
    assert [e.event_type for e in events] == [
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    ]


def test_a_restore_never_brings_the_deleted_run_back() -> None:
    ctx, run_id = _deleted_running_run()
    second = _start(ctx, "r-2")
    expected = store.load_state(ctx.state, "default", "wf")
    assert expected is not None and expected.run_id == second
    full = ctx.changelog
    first_batch = next(i for i, (k, v) in enumerate(full) if v is not None)
    for changelog in (
        full,  # nothing compacted yet
        _compacted(full),  # compacted: no record of the deleted run left
        full[first_batch + 1 :],  # the run's first batch compacted away, the rest not yet
    ):
        restored = _restore(changelog)
        assert store.load_run(restored, "default", "wf", run_id) is None
        assert store.load_state(restored, "default", "wf") == expected
        assert _run_keys(restored) == _run_keys(ctx.state)


def test_deleting_a_closed_run_and_unknown_ones() -> None:
    ctx = _Context(_processor())
    assert _delete(ctx)["status_code"] == Code.NOT_FOUND
    run_id = _start(ctx, "r-1")
    terminate = TerminateWorkflowExecutionRequest(
        namespace="default", workflow_execution=WorkflowExecution(workflow_id="wf"), reason="x"
    )
    _call(ctx, "TerminateWorkflowExecution", terminate)
    batches = sum(1 for _, v in ctx.changelog if v is not None)
    assert _delete(ctx, "5e0b6f2e-9f51-4c1c-8a59-3f4a61cfa2a3")["status_code"] == Code.NOT_FOUND
    assert _delete(ctx, run_id)["status_code"] == Code.OK
    assert _run_keys(ctx.state) == []
    # A closed run gets no new events: just its marker and tombstones.
    assert sum(1 for _, v in ctx.changelog if v is not None) == batches + 1


def _terminate(ctx: _Context) -> None:
    terminate = TerminateWorkflowExecutionRequest(
        namespace="default", workflow_execution=WorkflowExecution(workflow_id="wf"), reason="x"
    )
    assert _call(ctx, "TerminateWorkflowExecution", terminate)["status_code"] == Code.OK


def test_an_older_run_is_deleted_by_its_run_id() -> None:
    ctx = _Context(_processor())
    first = _start(ctx, "r-1")
    _terminate(ctx)
    second = _start(ctx, "r-2")
    assert store.load_run(ctx.state, "default", "wf", first) is not None
    assert _delete(ctx, first)["status_code"] == Code.OK
    assert store.load_run(ctx.state, "default", "wf", first) is None
    assert store.read_events(ctx.state, "default", "wf", first, 1, 100) == []
    current = store.load_state(ctx.state, "default", "wf")
    assert current is not None and current.run_id == second and current.is_running
    for changelog in (ctx.changelog, _compacted(ctx.changelog)):
        restored = _restore(changelog)
        assert store.load_run(restored, "default", "wf", first) is None
        assert store.load_state(restored, "default", "wf") == current


def test_reset_of_an_older_run_terminates_the_current_one() -> None:
    ctx = _Context(_processor())
    first = _start(ctx, "r-1")  # 1 started, 2 workflow task scheduled
    _terminate(ctx)  # 3 terminated
    second = _start(ctx, "r-2")
    request = ResetWorkflowExecutionRequest(
        namespace="default",
        workflow_execution=WorkflowExecution(workflow_id="wf", run_id=first),
        reason="back",
        workflow_task_finish_event_id=3,
        request_id="reset-1",
    )
    reply = _call(ctx, "ResetWorkflowExecution", request)
    assert reply["status_code"] == Code.OK, reply
    new_run = ResetWorkflowExecutionResponse.FromString(reply["payload"]).run_id
    replaced = store.load_run(ctx.state, "default", "wf", second)
    assert replaced is not None and replaced.status is WorkflowStatus.TERMINATED
    current = store.load_state(ctx.state, "default", "wf")
    assert current is not None and current.run_id == new_run and current.is_running
    events = store.read_events(ctx.state, "default", "wf", new_run, 1, 100)
    assert [e.event_type for e in events] == [
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    ]
    assert events[:2] == store.read_events(ctx.state, "default", "wf", first, 1, 3)
    assert events[3].workflow_task_failed_event_attributes.base_run_id == first
    restored = _restore(ctx.changelog)
    assert store.load_state(restored, "default", "wf") == current
    unknown = ResetWorkflowExecutionRequest()
    unknown.CopyFrom(request)
    unknown.workflow_execution.run_id = "5e0b6f2e-9f51-4c1c-8a59-3f4a61cfa2a3"
    unknown.request_id = "reset-2"
    assert _call(ctx, "ResetWorkflowExecution", unknown)["status_code"] == Code.NOT_FOUND
