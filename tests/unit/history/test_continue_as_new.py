"""ContinueAsNewWorkflowExecution: the closed run and the next one, as the dev server wrote them."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from temporalio.api.command.v1 import Command as WorkflowCommand
from temporalio.api.command.v1 import ContinueAsNewWorkflowExecutionCommandAttributes
from temporalio.api.common.v1 import Memo, Payload, Payloads, Priority
from temporalio.api.enums.v1 import (
    CommandType,
    EventType,
    SuggestContinueAsNewReason,
    WorkflowTaskFailedCause,
)
from temporalio.api.history.v1 import History, HistoryEvent
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    DescribeWorkflowExecutionResponse,
    SignalWorkflowExecutionRequest,
)
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from history_processor.deadlines import DeadlineKind
from history_processor.state import WorkflowStatus
from history_processor.workflow_tasks import suggest_reasons
from tests.unit.history.golden import load
from tests.unit.history.harness import (
    NAMESPACE,
    RUN_SPECIFIC,
    Glue,
    comparable,
    first_task,
    ok_payload,
    types,
)
from tests.workflows.runs import RUN_WORKFLOWS

_RUN_SPECIFIC = RUN_SPECIFIC | {"firstWorkflowTaskBackoff"}


def _comparable(event: HistoryEvent) -> dict[str, Any]:
    return comparable(event, _RUN_SPECIFIC)


def _can_command(golden_event: HistoryEvent) -> WorkflowCommand:
    """The command the SDK sent, read back from the dev server's close event."""
    a = golden_event.workflow_execution_continued_as_new_event_attributes
    attrs = ContinueAsNewWorkflowExecutionCommandAttributes(
        workflow_type=a.workflow_type,
        task_queue=a.task_queue,
        input=a.input,
        memo=a.memo,
        inherit_build_id=a.inherit_build_id,
    )
    return WorkflowCommand(
        command_type=CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
        continue_as_new_workflow_execution_command_attributes=attrs,
    )


def _start_like(glue: Glue, golden_start: HistoryEvent) -> None:
    attrs = golden_start.workflow_execution_started_event_attributes
    glue.start(
        workflow_type=attrs.workflow_type.name,
        input=attrs.input,
        memo=attrs.memo,
        identity=attrs.identity,
    )


def test_continue_as_new_matches_the_dev_server() -> None:
    run1, run2 = load("continue_as_new_run1"), load("continue_as_new_run2")
    identity = run1.events[2].workflow_task_started_event_attributes.identity
    glue = Glue(workflow_id="golden-continue_as_new", identity=identity)
    _start_like(glue, run1.events[0])
    first_run = glue.state.run_id  # type: ignore[union-attr]
    started_at = glue.now_ms
    task = first_task(glue)
    decision = glue.complete_workflow_task(task, _can_command(run1.events[4]))
    assert decision.reply is not None and decision.reply.ok
    # The closed run: the same events as on the dev server (after the start, which the
    # harness makes its own way).
    closed = glue.older_runs[first_run]
    assert [_comparable(e) for e in closed[1:]] == [_comparable(e) for e in run1.events[1:]]
    # The next run, in the same decision: its start event carries what Temporal carries.
    assert types(glue.events) == ["WORKFLOW_EXECUTION_STARTED"]
    assert _comparable(glue.events[0]) == _comparable(run2.events[0])
    started = glue.events[0].workflow_execution_started_event_attributes
    assert started.continued_execution_run_id == first_run
    assert started.first_execution_run_id == first_run
    new_run = closed[-1].workflow_execution_continued_as_new_event_attributes.new_execution_run_id
    assert started.original_execution_run_id == new_run == glue.state.run_id  # type: ignore[union-attr]
    # The run lived a few ms, so its successor waits out Temporal's minimal 1 s interval.
    lifetime = glue.now_ms - started_at
    assert started.first_workflow_task_backoff.ToMilliseconds() == 1_000 - lifetime
    # Both runs are visible: the closed one as continued-as-new, the new one running.
    statuses = {
        v["run_id"]: v["status"] for v in (o.record for o in decision.outbox) if "status" in v
    }
    assert statuses == {first_run: "ContinuedAsNew", new_run: "Running"}
    # The first workflow task waits for the backoff timer, then runs on the new run.
    assert [t for t in decision.tasks if t["task_kind"] == "workflow"] == []
    glue.fire(DeadlineKind.FIRST_WORKFLOW_TASK_BACKOFF.value)
    assert types(glue.events) == ["WORKFLOW_EXECUTION_STARTED", "WORKFLOW_TASK_SCHEDULED"]
    assert glue.last_task("workflow")["run_id"] == new_run
    assert glue.restore() == glue.state


def test_closed_run_state_survives_in_the_decision() -> None:
    glue = Glue()
    glue.start(memo=Memo(fields={"k": Payload(data=b"1")}))
    first_run = glue.state.run_id  # type: ignore[union-attr]
    command = WorkflowCommand(
        command_type=CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
        continue_as_new_workflow_execution_command_attributes=(
            ContinueAsNewWorkflowExecutionCommandAttributes(input=Payloads())
        ),
    )
    decision = glue.complete_workflow_task(first_task(glue), command)
    (closed,) = decision.closed_runs
    assert closed.state.run_id == first_run
    assert closed.state.status is WorkflowStatus.CONTINUED_AS_NEW
    # Defaults come from the closing run: type, task queue, task timeout.
    started = glue.events[0].workflow_execution_started_event_attributes
    assert started.workflow_type.name == "OneActivityWorkflow"
    assert started.task_queue.name == "golden"
    assert started.workflow_task_timeout.ToMilliseconds() == 10_000
    # Describe of the current run answers for the new one.
    request = DescribeWorkflowExecutionRequest(namespace=NAMESPACE)
    request.execution.workflow_id = glue.workflow_id
    reply = glue.submit("DescribeWorkflowExecution", request)
    info = ok_payload(reply, DescribeWorkflowExecutionResponse).workflow_execution_info
    assert info.execution.run_id != first_run and info.first_run_id == first_run


def test_continue_as_new_with_new_events_is_an_unhandled_command() -> None:
    glue = Glue()
    glue.start()
    task = first_task(glue)
    signal = SignalWorkflowExecutionRequest(namespace=NAMESPACE, signal_name="s", request_id="r1")
    signal.workflow_execution.workflow_id = glue.workflow_id
    glue.submit("SignalWorkflowExecution", signal)
    command = WorkflowCommand(
        command_type=CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
        continue_as_new_workflow_execution_command_attributes=(
            ContinueAsNewWorkflowExecutionCommandAttributes()
        ),
    )
    decision = glue.complete_workflow_task(task, command)
    assert decision.closed_runs == []
    failed = [e for e in glue.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]
    assert failed[-1].workflow_task_failed_event_attributes.cause == (
        WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND
    )
    assert glue.state is not None and glue.state.is_running


async def test_strom_histories_of_both_runs_replay() -> None:
    run1 = load("continue_as_new_run1")
    identity = run1.events[2].workflow_task_started_event_attributes.identity
    glue = Glue(workflow_id="golden-continue_as_new", identity=identity)
    _start_like(glue, run1.events[0])
    first_run = glue.state.run_id  # type: ignore[union-attr]
    glue.complete_workflow_task(first_task(glue), _can_command(run1.events[4]))
    replayer = Replayer(workflows=RUN_WORKFLOWS)
    closed = History(events=glue.older_runs[first_run])
    history = WorkflowHistory.from_json(glue.workflow_id, json_format.MessageToJson(closed))
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None


def _signal(glue: Glue, number: int, data: bytes = b"") -> None:
    signal = SignalWorkflowExecutionRequest(
        namespace=NAMESPACE, signal_name="s", request_id=f"sig-{number}"
    )
    signal.workflow_execution.workflow_id = glue.workflow_id
    if data:
        signal.input.payloads.add(data=data)
    glue.submit("SignalWorkflowExecution", signal)


def test_a_large_history_suggests_continue_as_new_with_its_reason() -> None:
    glue = Glue()
    task = first_task(glue)
    attrs = [e for e in glue.events if e.HasField("workflow_task_started_event_attributes")]
    assert not attrs[-1].workflow_task_started_event_attributes.suggest_continue_as_new
    glue.complete_workflow_task(task)
    # Three signals of 1.5 MiB take the history past Temporal's 4 MiB suggestion threshold.
    for number in range(3):
        _signal(glue, number, b"x" * (1536 * 1024))
    glue.poll_workflow_task("poll-2")
    last = [e for e in glue.events if e.HasField("workflow_task_started_event_attributes")][-1]
    started_attrs = last.workflow_task_started_event_attributes
    assert started_attrs.suggest_continue_as_new
    assert list(started_attrs.suggest_continue_as_new_reasons) == [
        SuggestContinueAsNewReason.SUGGEST_CONTINUE_AS_NEW_REASON_HISTORY_SIZE_TOO_LARGE
    ]


def test_many_events_suggest_continue_as_new() -> None:
    assert suggest_reasons(4095, 0) == []
    assert suggest_reasons(4096, 4 * 1024 * 1024) == [
        SuggestContinueAsNewReason.SUGGEST_CONTINUE_AS_NEW_REASON_HISTORY_SIZE_TOO_LARGE,
        SuggestContinueAsNewReason.SUGGEST_CONTINUE_AS_NEW_REASON_TOO_MANY_HISTORY_EVENTS,
    ]


def test_continue_as_new_keeps_the_priority() -> None:
    glue = Glue()
    glue.start(priority=Priority(priority_key=2))
    command = WorkflowCommand(
        command_type=CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
        continue_as_new_workflow_execution_command_attributes=(
            ContinueAsNewWorkflowExecutionCommandAttributes()
        ),
    )
    glue.complete_workflow_task(first_task(glue), command)
    started = glue.events[0].workflow_execution_started_event_attributes
    assert started.priority.priority_key == 2
