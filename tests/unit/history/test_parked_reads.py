"""Parked history long polls: decided again only when the run changed in a way they wait for."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, HistoryEventFilterType
from temporalio.api.workflowservice.v1 import (
    GetWorkflowExecutionHistoryRequest,
    GetWorkflowExecutionHistoryResponse,
    SignalWorkflowExecutionRequest,
    TerminateWorkflowExecutionRequest,
)

import history_processor.handlers.get_workflow_execution_history as history_handler
from history_processor.model import Command
from history_processor.parked import HistoryWatch, Parked, ParkedReads
from history_processor.processor import HistoryProcessor
from history_processor.state import ExecutionState, WorkflowStatus
from schemas.reply import Reply
from tests.unit.history.test_processor_hand_over import (
    NOW_S,
    TOPOLOGY,
    _answered,
    _await_close,
    _Context,
    _send,
    _start,
)

CLOSE = HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT


def _poll(command_id: str, workflow_id: str = "wf", close_only: bool = True) -> Command:
    request = GetWorkflowExecutionHistoryRequest(
        namespace="default",
        execution=WorkflowExecution(workflow_id=workflow_id),
        wait_new_event=True,
        history_event_filter_type=CLOSE if close_only else 0,
    )
    return Command(
        "GetWorkflowExecutionHistory", command_id, "default", "ns-id", workflow_id, request
    )


def _run(run_id: str = "r1", next_event_id: int = 4, running: bool = True) -> ExecutionState:
    run = ExecutionState(
        namespace="default",
        namespace_id="ns-id",
        workflow_id="wf",
        run_id=run_id,
        workflow_type="W",
        task_queue="q",
        start_time_ms=0,
    )
    run.next_event_id = next_event_id
    if not running:
        run.status = WorkflowStatus.TERMINATED
    return run


def _ids(parked: list[Parked]) -> set[str]:
    return {entry.command.command_id for entry in parked}


def test_a_close_event_poll_stays_parked_while_the_run_only_gains_events() -> None:
    reads = ParkedReads()
    reads.park(0, _poll("close"), None, 0, HistoryWatch.of(_poll("close"), _run()))
    reads.park(0, _poll("events", close_only=False), None, 0,
               HistoryWatch.of(_poll("events", close_only=False), _run()))  # fmt: skip

    assert _ids(reads.take(0, "default", "wf", lambda: _run(next_event_id=4))) == set()
    assert _ids(reads.take(0, "default", "wf", lambda: _run(next_event_id=7))) == {"events"}
    assert _ids(reads.take(0, "default", "wf", lambda: _run(run_id="r2"))) == {"close"}
    assert reads.pop(0) == []


@pytest.mark.parametrize(
    "changed",
    [None, _run(running=False), _run(run_id="r2")],
    ids=["deleted", "closed", "new run"],
)
def test_a_parked_poll_is_woken_when_its_run_ends_or_is_replaced(
    changed: ExecutionState | None,
) -> None:
    watch = HistoryWatch.of(_poll("close"), _run())
    assert watch is not None
    assert watch.unchanged(_run(next_event_id=9))
    assert not watch.unchanged(changed)


def test_reads_without_a_watch_are_decided_again_after_every_change() -> None:
    reads = ParkedReads()
    loads: list[str] = []

    def current() -> ExecutionState:
        loads.append("load")
        return _run()

    other = Command("Other", "other", "default", "ns-id", "wf", object())
    assert HistoryWatch.of(other, _run()) is None
    assert HistoryWatch.of(_poll("close"), None) is None
    reads.park(0, other, None, 0)
    assert _ids(reads.take(0, "default", "wf", current)) == {"other"}
    assert loads == [], "nothing watched the run, so it was not loaded"
    assert reads.take(0, "default", "elsewhere", current) == []


def test_expiry_and_a_hand_over_reach_the_reads_of_every_workflow() -> None:
    reads = ParkedReads()
    for n, workflow_id in enumerate(("a", "b", "c")):
        reads.park(0, _poll(f"read-{workflow_id}", workflow_id), None, n * 1000)
    reads.park(1, _poll("read-d", "d"), None, 0)
    assert _ids(reads.expired(0, 6_000)) == {"read-a", "read-b"}
    assert _ids(reads.pop(0)) == {"read-c"}
    reads.forget({0})
    assert reads.pop(1) == []


def test_the_processor_answers_a_result_wait_when_the_run_closes_and_not_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decided: list[str] = []
    real = history_handler.get_workflow_execution_history

    def counting(*args: Any, **kwargs: Any) -> Reply | None:
        decided.append("read")
        return real(*args, **kwargs)

    monkeypatch.setattr(history_handler, "get_workflow_execution_history", counting)
    processor = HistoryProcessor(TOPOLOGY, lambda name: f"id-{name}", clock=lambda: NOW_S)
    ctx = _Context(processor, partition=0)
    _start(ctx, "wf")
    _await_close(ctx, "result", "wf")
    assert decided == ["read"]
    for n in range(3):
        signal = SignalWorkflowExecutionRequest(
            namespace="default",
            workflow_execution=WorkflowExecution(workflow_id="wf"),
            signal_name="go",
            request_id=f"signal-{n}",
        )
        _send(ctx, f"signal-{n}", "wf", "SignalWorkflowExecution", signal)
    assert "result" not in _answered(ctx)
    assert decided == ["read"], "a signal leaves the run running: the wait is not decided again"

    terminate = TerminateWorkflowExecutionRequest(
        namespace="default", workflow_execution=WorkflowExecution(workflow_id="wf")
    )
    _send(ctx, "terminate", "wf", "TerminateWorkflowExecution", terminate)
    reply = Reply.from_record(_answered(ctx)["result"])  # type: ignore[arg-type]
    assert reply.ok
    events = GetWorkflowExecutionHistoryResponse.FromString(reply.payload).history.events
    assert [e.event_type for e in events] == [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED]
    assert decided == ["read", "read"]
