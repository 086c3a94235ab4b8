"""Optimistic start of a run's first workflow task: the template equals the real start."""

from __future__ import annotations

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import TaskQueueKind
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueRequest,
    PollWorkflowTaskQueueResponse,
    RespondWorkflowTaskFailedRequest,
    SignalWorkflowExecutionRequest,
    TerminateWorkflowExecutionRequest,
)

from history_processor.model import Decision
from history_processor.optimistic import MAX_EVENTS_AFTER_SCHEDULED
from schemas import prepared
from schemas.inbox import RecordWorkflowTaskStarted
from tests.unit.history.harness import (
    NAMESPACE,
    Glue,
    ok_payload,
    record_started,
    types,
    with_activity,
)


def _poll(glue: Glue) -> PollWorkflowTaskQueueRequest:
    return PollWorkflowTaskQueueRequest(
        namespace=NAMESPACE, identity="optimist", task_queue=TaskQueue(name="golden")
    )


def assert_classic_start_equals(classic: Glue, handed_out: PollWorkflowTaskQueueResponse) -> None:
    """The classic start of `classic`'s task gives `handed_out` but for the start's time."""
    classic.identity = "optimist"
    reply = ok_payload(classic.poll_workflow_task("opt-1"), PollWorkflowTaskQueueResponse)
    for response in (reply, handed_out):
        response.ClearField("started_time")
        response.history.events[-1].ClearField("event_time")
    assert reply == handed_out


def _optimistic_start(glue: Glue, task: dict, now_ms: int) -> RecordWorkflowTaskStarted:
    return record_started(task, _poll(glue), "opt-1", now_ms)


def test_first_task_carries_a_template_that_equals_the_recorded_start() -> None:
    optimist, classic = Glue(), Glue()
    optimist.start()
    classic.start()
    task = optimist.last_task("workflow")
    assert task["payload"], "the first workflow task carries its prepared response"
    now_ms = optimist.now_ms + 7
    handed_out = prepared.finish(task["payload"], _poll(optimist), "opt-1", now_ms)

    decision = optimist.submit(
        "RecordWorkflowTaskStarted", _optimistic_start(optimist, task, now_ms), advance_ms=7
    )
    assert types(decision) == ["WORKFLOW_TASK_STARTED"]
    assert decision.tasks == []
    assert decision.deferrable, "the poller has its task: the start's commit may wait"
    written = decision.events[0]
    assert written == handed_out.history.events[-1]
    assert written.event_time.ToMilliseconds() == now_ms

    # The classic round trip returns the same response but for the moment of the start.
    assert_classic_start_equals(classic, handed_out)
    assert handed_out.started_event_id == 3


def test_stale_template_writes_nothing_and_dispatches_the_task_again() -> None:
    glue = Glue()
    glue.start()
    task = glue.last_task("workflow")
    glue.submit(
        "TerminateWorkflowExecution",
        TerminateWorkflowExecutionRequest(namespace=NAMESPACE, reason="gone"),
    )
    decision = glue.submit("RecordWorkflowTaskStarted", _optimistic_start(glue, task, glue.now_ms))
    assert decision.events == [] and decision.tasks == []
    assert not decision.deferrable


def test_later_workflow_tasks_have_no_template() -> None:
    glue = Glue()
    glue.start()
    response = ok_payload(glue.poll_workflow_task(), PollWorkflowTaskQueueResponse)
    glue.submit(
        "RespondWorkflowTaskFailed",
        RespondWorkflowTaskFailedRequest(namespace=NAMESPACE, task_token=response.task_token),
    )
    workflow_tasks = [t for t in glue.tasks if t["task_kind"] == "workflow"]
    assert len(workflow_tasks) == 2
    assert workflow_tasks[0]["payload"] and workflow_tasks[1]["payload"] == b""


def test_sticky_task_template_equals_the_sticky_poll_response() -> None:
    glue = Glue()
    scheduled = with_activity(glue)
    glue.start_activity(scheduled)
    glue.complete_activity(scheduled)
    task = glue.last_task("workflow")
    assert task["task_queue_kind"] == "sticky"
    assert task["payload"], "a sticky task scheduled as the last event carries a template"
    poll = PollWorkflowTaskQueueRequest(
        namespace=NAMESPACE,
        identity=glue.identity,
        task_queue=TaskQueue(name=task["task_queue"], kind=TaskQueueKind.TASK_QUEUE_KIND_STICKY),
    )
    handed_out = prepared.finish(task["payload"], poll, "poll-1", glue.now_ms)
    reply = ok_payload(glue.poll_workflow_task("poll-1"), PollWorkflowTaskQueueResponse)
    for response in (reply, handed_out):
        response.ClearField("started_time")
        response.history.events[-1].ClearField("event_time")
        response.history.events[-1].workflow_task_started_event_attributes.ClearField(
            "worker_version"
        )
    assert reply == handed_out
    # Only the events since the last completed task's start: the worker has the rest cached.
    assert handed_out.history.events[0].event_id == 4


def _signal(glue: Glue, n: int) -> Decision:
    return glue.submit(
        "SignalWorkflowExecution",
        SignalWorkflowExecutionRequest(
            namespace=NAMESPACE,
            workflow_execution=WorkflowExecution(workflow_id=glue.workflow_id),
            signal_name="go",
            request_id=f"sig-{n}",
        ),
    )


def test_event_written_while_the_task_waits_revises_its_template() -> None:
    optimist, classic = Glue(), Glue()
    for glue in (optimist, classic):
        glue.start()
        _signal(glue, 1)
    first, revision = [t for t in optimist.tasks if t["task_kind"] == "workflow"]
    assert revision["scheduled_event_id"] == first["scheduled_event_id"] == 2
    now_ms = optimist.now_ms + 5
    handed_out = prepared.finish(revision["payload"], _poll(optimist), "opt-1", now_ms)
    assert handed_out.started_event_id == 4  # after the signal, as a classic start writes it

    # The first template no longer shows the history: its start is refused, nothing written.
    stale = optimist.submit("RecordWorkflowTaskStarted", _optimistic_start(optimist, first, now_ms))
    assert stale.events == []
    # It sends the task again without a template: only one template may match the start.
    [resend] = stale.tasks
    assert resend["scheduled_event_id"] == 2 and resend["payload"] == b""
    assert not stale.deferrable, "the task sent again must not wait for company"
    decision = optimist.submit(
        "RecordWorkflowTaskStarted", _optimistic_start(optimist, revision, now_ms), advance_ms=5
    )
    assert types(decision) == ["WORKFLOW_TASK_STARTED"]
    assert decision.events[0] == handed_out.history.events[-1]

    assert_classic_start_equals(classic, handed_out)


def test_revisions_stop_at_the_bound_with_one_without_template() -> None:
    glue = Glue()
    glue.start()
    revisions = []
    for n in range(MAX_EVENTS_AFTER_SCHEDULED + 3):
        revisions.append([t for t in _signal(glue, n).tasks if t["task_kind"] == "workflow"])
    with_template = [r for [r] in revisions[:MAX_EVENTS_AFTER_SCHEDULED] if r["payload"]]
    assert len(with_template) == MAX_EVENTS_AFTER_SCHEDULED
    # One past the bound takes the template back (matching's copy goes the classic way) ...
    [last] = revisions[MAX_EVENTS_AFTER_SCHEDULED]
    assert last["payload"] == b""
    # ... and later events send the task no more.
    assert revisions[MAX_EVENTS_AFTER_SCHEDULED + 1 :] == [[], []]
    # The classic start still gives every event.
    response = ok_payload(glue.poll_workflow_task(), PollWorkflowTaskQueueResponse)
    assert response.started_event_id == 3 + MAX_EVENTS_AFTER_SCHEDULED + 3


def test_event_written_while_the_task_runs_sends_no_task() -> None:
    glue = Glue()
    glue.start()
    glue.poll_workflow_task()
    assert [t for t in _signal(glue, 1).tasks if t["task_kind"] == "workflow"] == []
