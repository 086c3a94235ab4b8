"""ResetWorkflowExecution: the new run forked at a workflow task, as the dev server wrote it."""

from __future__ import annotations

from typing import Any

from temporalio.api.command.v1 import Command as WorkflowCommand
from temporalio.api.enums.v1 import (
    CommandType,
    EventType,
    ResetReapplyExcludeType,
    ResetReapplyType,
    WorkflowTaskFailedCause,
)
from temporalio.api.history.v1 import History, HistoryEvent
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueResponse,
    ResetWorkflowExecutionRequest,
    ResetWorkflowExecutionResponse,
    SignalWorkflowExecutionRequest,
)
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from history_processor.deadlines import DeadlineKind
from history_processor.model import Decision
from history_processor.older_runs import OlderRuns
from history_processor.reset import later_runs_events
from history_processor.state import WorkflowStatus
from schemas.outbox import Destination
from schemas.reply import Code
from tests.unit.history.golden import load
from tests.unit.history.harness import (
    NAMESPACE,
    Glue,
    comparable,
    complete_workflow,
    ok_payload,
    schedule_activity,
    sticky,
    types,
)
from tests.workflows.signal_collector import SignalCollectorWorkflow

_RUN_SPECIFIC = {
    "originalExecutionRunId",
    "firstExecutionRunId",
    "baseRunId",
    "newRunId",
    "requestId",
    "historySizeBytes",
    "identity",
    "workerVersion",
    "sdkMetadata",
    "meteringMetadata",
    "taskQueue",  # the worker's sticky queue name differs; its kind is checked apart
}


def _comparable(event: HistoryEvent) -> dict[str, Any]:
    return comparable(event, _RUN_SPECIFIC)


def _statuses(decision: Decision) -> dict[str, str]:
    """Run id -> status of the decision's visibility records."""
    records = [o.record for o in decision.outbox if o.destination is Destination.VISIBILITY]
    return {r["run_id"]: r["status"] for r in records}  # type: ignore[typeddict-item]


def _poll(glue: Glue) -> PollWorkflowTaskQueueResponse:
    return ok_payload(glue.poll_workflow_task(), PollWorkflowTaskQueueResponse)


def _signal(glue: Glue, source: HistoryEvent) -> None:
    attrs = source.workflow_execution_signaled_event_attributes
    request = SignalWorkflowExecutionRequest(
        namespace=NAMESPACE,
        signal_name=attrs.signal_name,
        input=attrs.input,
        identity=attrs.identity,
        request_id=attrs.request_id,
    )
    request.workflow_execution.workflow_id = glue.workflow_id
    reply = glue.submit("SignalWorkflowExecution", request).reply
    assert reply is not None and reply.ok, reply


def _reset_request(glue: Glue, finish: int, **kw: object) -> ResetWorkflowExecutionRequest:
    fields: dict[str, object] = {"reason": "golden reset", "request_id": "reset-1", **kw}
    request = ResetWorkflowExecutionRequest(
        namespace=NAMESPACE,
        workflow_task_finish_event_id=finish,
        **fields,  # type: ignore[arg-type]
    )
    request.workflow_execution.workflow_id = glue.workflow_id
    return request


def _golden_base(glue: Glue, base: History) -> None:
    """Drives the decider through the golden base run: two signals, then completion."""
    start = base.events[0].workflow_execution_started_event_attributes
    glue.start(workflow_type=start.workflow_type.name, input=start.input)
    glue.complete_workflow_task(_poll(glue), sticky_attributes=sticky())
    _signal(glue, base.events[4])
    glue.complete_workflow_task(_poll(glue), sticky_attributes=sticky())
    _signal(glue, base.events[8])
    result = base.events[12].workflow_execution_completed_event_attributes.result
    glue.complete_workflow_task(_poll(glue), complete_workflow(result))


def test_reset_of_a_closed_run_matches_the_dev_server() -> None:
    base, golden = load("reset_run1"), load("reset_run2")
    glue = Glue(workflow_id="golden-reset", identity="13191@vm")
    _golden_base(glue, base)
    base_run = glue.state.run_id  # type: ignore[union-attr]
    # (The start event is the harness's own request, not the SDK's.)
    assert [_comparable(e) for e in glue.events[1:]] == [_comparable(e) for e in base.events[1:]]
    decision = glue.submit("ResetWorkflowExecution", _reset_request(glue, 4))
    new_run = ok_payload(decision, ResetWorkflowExecutionResponse).run_id
    # A closed base run gets no event, only the link to the run its reset made (Temporal's
    # ResetRunId, shown by Describe).
    (link,) = decision.closed_runs
    assert link.events == [] and [kind for kind, _ in link.updates] == ["reset_run"]
    assert link.state.run_id == base_run and link.state.reset_run_id == new_run
    assert glue.older_runs[base_run][-1].event_id == 13
    assert glue.state is not None and glue.state.run_id == new_run != base_run
    assert glue.state.status is WorkflowStatus.RUNNING
    # Events 1-3 are the base run's own; then the reset's failure, the signals, a new task.
    assert [_comparable(e) for e in glue.events[1:]] == [_comparable(e) for e in golden.events[1:7]]
    assert glue.events[:3] == glue.older_runs[base_run][:3]
    failed = glue.events[3].workflow_task_failed_event_attributes
    assert (failed.base_run_id, failed.new_run_id) == (base_run, new_run)
    assert failed.identity == "history-service"
    start = glue.events[0].workflow_execution_started_event_attributes
    assert start.original_execution_run_id == base_run  # the fork keeps the base's start event
    assert glue.events[6].workflow_task_scheduled_event_attributes.task_queue.name == "golden"
    task = glue.last_task("workflow")
    assert (task["run_id"], task["scheduled_event_id"]) == (new_run, 7)
    visible = _statuses(decision)
    assert visible == {new_run: "Running"}
    assert glue.restore() == glue.state


async def test_reset_run_replays_with_the_sdk() -> None:
    base = load("reset_run1")
    glue = Glue(workflow_id="golden-reset", identity="13191@vm")
    _golden_base(glue, base)
    glue.submit("ResetWorkflowExecution", _reset_request(glue, 4))
    result = load("reset_run2").events[9].workflow_execution_completed_event_attributes.result
    decision = glue.complete_workflow_task(_poll(glue), complete_workflow(result))
    assert decision.reply is not None and decision.reply.ok
    history = WorkflowHistory.from_json(glue.workflow_id, glue.history_json())
    replayed = await Replayer(workflows=[SignalCollectorWorkflow]).replay_workflow(
        history, raise_on_replay_failure=False
    )
    assert replayed.replay_failure is None


def test_reset_of_a_running_run_terminates_it_in_the_same_decision() -> None:
    glue = Glue()
    glue.start()
    glue.complete_workflow_task(_poll(glue), schedule_activity())  # activity at 5
    signal = SignalWorkflowExecutionRequest(namespace=NAMESPACE, signal_name="s", request_id="s1")
    signal.workflow_execution.workflow_id = glue.workflow_id
    glue.submit("SignalWorkflowExecution", signal)  # 6, then a task at 7
    started = _poll(glue)  # 8: started, and so failed before the run is terminated
    base_run = glue.state.run_id  # type: ignore[union-attr]
    decision = glue.submit("ResetWorkflowExecution", _reset_request(glue, 4, reason="oops"))
    new_run = ok_payload(decision, ResetWorkflowExecutionResponse).run_id
    (closed,) = decision.closed_runs
    assert types(closed.events) == ["WORKFLOW_TASK_FAILED", "WORKFLOW_EXECUTION_TERMINATED"]
    terminated = closed.events[-1].workflow_execution_terminated_event_attributes
    assert (terminated.reason, terminated.identity) == ("oops", "history-resetter")
    assert closed.state.status is WorkflowStatus.TERMINATED
    assert closed.state.reset_run_id == new_run
    # The activity scheduled at 5 is after the point: gone. The signal is reapplied.
    assert types(glue.events) == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_FAILED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    assert glue.state is not None and glue.state.activities == {}
    assert glue.events[4].workflow_execution_signaled_event_attributes.request_id == "s1"
    # The old task's completion is refused; the new run's task is the one handed out.
    stale = glue.complete_workflow_task(started, complete_workflow())
    assert stale.reply is not None and stale.reply.status_code == Code.NOT_FOUND
    assert glue.last_task("workflow")["run_id"] == new_run != base_run
    statuses = _statuses(decision)
    assert statuses == {base_run: "Terminated", new_run: "Running"}


def test_reset_to_a_scheduled_task_adds_its_started_event() -> None:
    glue = Glue()
    glue.start()
    glue.complete_workflow_task(_poll(glue), schedule_activity())  # 4 completed, activity 5
    decision = glue.submit("ResetWorkflowExecution", _reset_request(glue, 3))
    ok_payload(decision, ResetWorkflowExecutionResponse)
    assert types(glue.events) == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_FAILED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    assert glue.events[2].workflow_task_started_event_attributes.identity == "history-service"
    assert glue.restore() == glue.state


def test_activity_pending_at_the_point_is_dispatched_to_the_new_run() -> None:
    glue = Glue()
    glue.start()
    glue.complete_workflow_task(_poll(glue), schedule_activity())  # activity 5
    signal = SignalWorkflowExecutionRequest(namespace=NAMESPACE, signal_name="s", request_id="s1")
    signal.workflow_execution.workflow_id = glue.workflow_id
    glue.submit("SignalWorkflowExecution", signal)  # 6, task 7
    glue.complete_workflow_task(_poll(glue))  # 8 started, 9 completed
    decision = glue.submit("ResetWorkflowExecution", _reset_request(glue, 9))
    new_run = ok_payload(decision, ResetWorkflowExecutionResponse).run_id
    assert [(t["task_kind"], t["scheduled_event_id"]) for t in decision.tasks] == [
        ("activity", 5),
        ("workflow", 10),
    ]
    assert {t["run_id"] for t in decision.tasks} == {new_run}
    assert types(glue.events)[5:] == [
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_FAILED",
        "WORKFLOW_TASK_SCHEDULED",
    ]


def test_reapply_none_and_excluded_signals_drop_them() -> None:
    for kw in (
        {"reset_reapply_type": ResetReapplyType.RESET_REAPPLY_TYPE_NONE},
        {
            "reset_reapply_exclude_types": [
                ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL
            ]
        },
    ):
        glue = Glue()
        glue.start()
        glue.complete_workflow_task(_poll(glue))
        signal = SignalWorkflowExecutionRequest(namespace=NAMESPACE, signal_name="s")
        signal.workflow_execution.workflow_id = glue.workflow_id
        glue.submit("SignalWorkflowExecution", signal)
        glue.submit("ResetWorkflowExecution", _reset_request(glue, 4, **kw))
        assert "WORKFLOW_EXECUTION_SIGNALED" not in types(glue.events), kw


def test_a_retried_reset_returns_the_run_it_created() -> None:
    glue = Glue()
    glue.start()
    glue.complete_workflow_task(_poll(glue))
    first = ok_payload(
        glue.submit("ResetWorkflowExecution", _reset_request(glue, 4)),
        ResetWorkflowExecutionResponse,
    )
    events = list(glue.events)
    again = glue.submit("ResetWorkflowExecution", _reset_request(glue, 4))
    assert ok_payload(again, ResetWorkflowExecutionResponse).run_id == first.run_id
    assert again.events == [] and glue.events == events


def test_bad_reset_points_are_refused_and_change_nothing() -> None:
    glue = Glue()
    glue.start()
    glue.complete_workflow_task(_poll(glue), schedule_activity())  # 1..5
    before = glue.state
    for finish in (0, 1, 6, 99):
        reply = glue.submit("ResetWorkflowExecution", _reset_request(glue, finish)).reply
        assert reply is not None and reply.status_code == Code.INVALID_ARGUMENT
        assert "Workflow task finish ID must be" in reply.message
    # 5 follows WorkflowTaskCompleted: no workflow task is open there.
    decision = glue.submit("ResetWorkflowExecution", _reset_request(glue, 5))
    assert decision.reply is not None and decision.reply.status_code == Code.INVALID_ARGUMENT
    assert "WorkflowTaskScheduled +1" in decision.reply.message
    assert decision.events == [] and decision.closed_runs == [] and glue.state == before


def test_unknown_workflow_and_other_runs() -> None:
    glue = Glue()
    reply = glue.submit("ResetWorkflowExecution", _reset_request(glue, 4)).reply
    assert reply is not None and reply.status_code == Code.NOT_FOUND
    glue.start()
    glue.complete_workflow_task(_poll(glue))
    request = _reset_request(glue, 4)
    request.workflow_execution.run_id = "0f60074c-936a-433f-97d6-b9490e5cb28f"
    reply = glue.submit("ResetWorkflowExecution", request).reply
    assert reply is not None and reply.status_code == Code.NOT_FOUND


def test_reset_failed_event_cause() -> None:
    glue = Glue()
    glue.start()
    glue.complete_workflow_task(_poll(glue))
    glue.submit("ResetWorkflowExecution", _reset_request(glue, 4, reason="why"))
    failed = glue.events[3]
    assert failed.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    attrs = failed.workflow_task_failed_event_attributes
    assert attrs.cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW
    assert attrs.failure.message == "why" and attrs.failure.HasField("reset_workflow_failure_info")


def _continue_as_new() -> WorkflowCommand:
    command = WorkflowCommand(
        command_type=CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION
    )
    attrs = command.continue_as_new_workflow_execution_command_attributes
    attrs.workflow_type.name = "OneActivityWorkflow"
    attrs.task_queue.name = "golden"
    return command


def _signal_named(glue: Glue, request_id: str) -> None:
    signal = SignalWorkflowExecutionRequest(
        namespace=NAMESPACE, signal_name="s", request_id=request_id
    )
    signal.workflow_execution.workflow_id = glue.workflow_id
    reply = glue.submit("SignalWorkflowExecution", signal).reply
    assert reply is not None and reply.ok, reply


def _chain(glue: Glue, runs: int) -> list[str]:
    """Starts a workflow whose runs each get a signal ("s1", "s2", ...) and continue as new,
    but the last, which waits; returns the run ids in chain order."""
    glue.start()
    run_ids = []
    for number in range(1, runs + 1):
        assert glue.state is not None
        run_ids.append(glue.state.run_id)
        glue.complete_workflow_task(_poll(glue))
        _signal_named(glue, f"s{number}")
        if number < runs:
            glue.complete_workflow_task(_poll(glue), _continue_as_new())
            # The next run's first task waits out Temporal's 1 s between chained runs.
            glue.fire(DeadlineKind.FIRST_WORKFLOW_TASK_BACKOFF.value)
    return run_ids


def _reapplied(glue: Glue) -> list[str]:
    return [
        e.workflow_execution_signaled_event_attributes.request_id
        for e in glue.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]


def test_reset_of_an_older_run_of_a_chain_reapplies_the_later_runs_signals() -> None:
    glue = Glue()
    first, second, third = _chain(glue, 3)
    request = _reset_request(glue, 4, reason="from the top")
    request.workflow_execution.run_id = first
    decision = glue.submit("ResetWorkflowExecution", request)
    new_run = ok_payload(decision, ResetWorkflowExecutionResponse).run_id
    # The current (third) run is terminated; the first and second stay as they were.
    (closed,) = decision.closed_runs
    assert closed.state.run_id == third and closed.state.status is WorkflowStatus.TERMINATED
    assert _statuses(decision) == {third: "Terminated", new_run: "Running"}
    # Forked from the first run; its signal after the point, then those of the second and
    # third run are reapplied in chain order (Temporal's reapplyContinueAsNewWorkflowEvents).
    assert glue.events[:3] == glue.older_runs[first][:3]
    assert types(glue.events) == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_FAILED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    assert _reapplied(glue) == ["s1", "s2", "s3"]
    failed = glue.events[3].workflow_task_failed_event_attributes
    assert (failed.base_run_id, failed.new_run_id) == (first, new_run)
    assert glue.older_states[second].status is WorkflowStatus.CONTINUED_AS_NEW
    assert glue.restore() == glue.state


def test_reset_of_the_middle_run_reapplies_only_what_followed_it() -> None:
    glue = Glue()
    _, second, _ = _chain(glue, 3)
    # The chain's last run completes: nothing is terminated, the reset run is the current.
    glue.complete_workflow_task(_poll(glue), complete_workflow())
    request = _reset_request(glue, 4, reset_reapply_type=ResetReapplyType.RESET_REAPPLY_TYPE_SIGNAL)
    request.workflow_execution.run_id = second
    decision = glue.submit("ResetWorkflowExecution", request)
    new_run = ok_payload(decision, ResetWorkflowExecutionResponse).run_id
    assert decision.closed_runs == []
    assert glue.state is not None and glue.state.run_id == new_run
    start = glue.events[0].workflow_execution_started_event_attributes
    assert start == glue.older_runs[second][0].workflow_execution_started_event_attributes
    assert _reapplied(glue) == ["s2", "s3"]


def test_without_signal_reapply_no_later_run_is_read() -> None:
    glue = Glue()
    first, _ = _chain(glue, 2)
    request = _reset_request(glue, 4, reset_reapply_type=ResetReapplyType.RESET_REAPPLY_TYPE_NONE)
    request.workflow_execution.run_id = first
    read_older, read_current = glue._read_older_events, glue.read_events
    runs_read: list[str] = []

    def older(run: str, first_id: int, until: int) -> list[HistoryEvent]:
        runs_read.append(run)
        return read_older(run, first_id, until)

    def current(first_id: int, until: int) -> list[HistoryEvent]:
        runs_read.append("current")
        return read_current(first_id, until)

    glue._read_older_events, glue.read_events = older, current  # type: ignore[method-assign]
    ok_payload(glue.submit("ResetWorkflowExecution", request), ResetWorkflowExecutionResponse)
    assert _reapplied(glue) == [] and runs_read == [first]


def test_the_chain_ends_at_a_run_that_is_gone() -> None:
    glue = Glue()
    first, second, third = _chain(glue, 3)

    def read(run: str, first_id: int, until: int) -> list[HistoryEvent]:
        return glue.older_runs[run][first_id - 1 : until - 1]

    kept = {first: glue.older_states[first]}  # the second run was deleted
    older = OlderRuns(kept.get, read)
    assert later_runs_events(glue.older_runs[first], third, glue.events, older) == []
    everything = OlderRuns(glue.older_states.get, read)
    found = later_runs_events(glue.older_runs[first], third, glue.events, everything)
    assert found == glue.older_runs[second] + glue.events
