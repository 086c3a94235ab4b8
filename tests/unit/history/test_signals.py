"""Signals: WorkflowExecutionSignaled, buffering while a task runs, request-id dedup, NOT_FOUND."""

from __future__ import annotations

import uuid
from typing import Any

from google.protobuf.duration_pb2 import Duration
from temporalio.api.common.v1 import Header, Link, Payload, WorkflowExecution
from temporalio.api.enums.v1 import (
    EventType,
    ResourceExhaustedCause,
    ResourceExhaustedScope,
    WorkflowTaskFailedCause,
)
from temporalio.api.errordetails.v1 import ResourceExhaustedFailure
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueResponse,
    SignalWorkflowExecutionRequest,
    SignalWorkflowExecutionResponse,
    TerminateWorkflowExecutionRequest,
)

from history_processor.deadlines import DeadlineKind, deadlines
from history_processor.handlers.signal_workflow_execution import (
    MAX_SIGNALS_PER_EXECUTION,
    MSG_WORKFLOW_CLOSING,
)
from history_processor.model import Decision
from history_processor.updates import UpdateKind
from schemas.reply import Code
from tests.unit.history.harness import (
    NAMESPACE,
    Glue,
    complete_workflow,
    first_task,
    ok_payload,
    payloads,
    sticky,
    types,
)


def signal(glue: Glue, name: str = "go", request_id: str = "", **kw: Any) -> Decision:
    """Sends a signal to the glue's workflow (`run_id` in kw pins a run)."""
    run_id = kw.pop("run_id", "")
    request = SignalWorkflowExecutionRequest(
        namespace=NAMESPACE,
        workflow_execution=WorkflowExecution(workflow_id=glue.workflow_id, run_id=run_id),
        signal_name=name,
        request_id=request_id or str(uuid.uuid4()),
        identity="signaller",
        **kw,
    )
    return glue.submit("SignalWorkflowExecution", request)


def _idle(glue: Glue) -> None:
    """The first workflow task completes without commands: no task is pending."""
    poll = first_task(glue)
    glue.complete_workflow_task(poll, sticky_attributes=sticky())
    assert glue.state is not None and glue.state.workflow_task is None


def _signaled(decision: Decision, index: int = 0) -> Any:
    return decision.events[index].workflow_execution_signaled_event_attributes


def test_signal_to_an_idle_workflow_schedules_a_workflow_task() -> None:
    glue = Glue()
    _idle(glue)
    header = Header(fields={"trace": Payload(data=b"t")})
    link = Link(workflow_event=Link.WorkflowEvent(namespace="other", workflow_id="w"))
    decision = signal(glue, "go", "sig-1", input=payloads(b"1"), header=header, links=[link])
    assert types(decision) == ["WORKFLOW_EXECUTION_SIGNALED", "WORKFLOW_TASK_SCHEDULED"]
    attrs = _signaled(decision)
    assert (attrs.signal_name, attrs.identity, attrs.request_id) == ("go", "signaller", "sig-1")
    assert attrs.input.payloads[0].data == b"1" and attrs.header == header
    assert not attrs.skip_generate_workflow_task
    assert list(decision.events[0].links) == [link]
    # The new task goes to the worker's sticky queue.
    assert [t["task_kind"] for t in decision.tasks] == ["workflow"]
    assert decision.tasks[0]["task_queue_kind"] == "sticky"
    response = ok_payload(decision, SignalWorkflowExecutionResponse)
    ref = response.link.workflow_event
    assert (ref.workflow_id, ref.run_id) == (glue.workflow_id, glue.state.run_id)  # type: ignore[union-attr]
    assert ref.request_id_ref.request_id == "sig-1"
    assert ref.request_id_ref.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    assert glue.state is not None and glue.state.signal_count == 1
    assert glue.restore() == glue.state


def test_signal_while_a_task_is_scheduled_only_revises_that_task() -> None:
    glue = Glue()
    glue.start()
    waiting = glue.last_task("workflow")
    decision = signal(glue)
    assert types(decision) == ["WORKFLOW_EXECUTION_SIGNALED"]
    # No new task: the waiting one again, its template now showing the signal.
    [revision] = decision.tasks
    assert (revision["scheduled_event_id"], revision["attempt"]) == (
        waiting["scheduled_event_id"],
        waiting["attempt"],
    )
    assert revision["payload"] and revision["payload"] != waiting["payload"]
    poll = ok_payload(glue.poll_workflow_task(), PollWorkflowTaskQueueResponse)
    # The signal arrived before the task started: it is in the task's history.
    assert [e.event_type for e in poll.history.events][-2:] == [
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    ]


def test_signals_during_a_started_task_are_buffered_in_order() -> None:
    glue = Glue()
    poll = first_task(glue)
    first = signal(glue, "a", "r-a")
    second = signal(glue, "b", "r-b")
    for decision in (first, second):
        assert decision.events == [] and decision.tasks == []
        assert [kind for kind, _ in decision.updates] == [UpdateKind.BUFFER_EVENT.value]
    done = glue.complete_workflow_task(poll, sticky_attributes=sticky())
    assert types(done) == [
        "WORKFLOW_TASK_COMPLETED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    assert [_signaled(done, i).signal_name for i in (1, 2)] == ["a", "b"]
    assert [e.event_id for e in done.events] == [4, 5, 6, 7]
    assert [t["task_kind"] for t in done.tasks] == ["workflow"]
    assert glue.state is not None and glue.state.signal_request_ids == ["r-a", "r-b"]
    assert glue.restore() == glue.state


def test_a_buffered_signal_refuses_the_close_and_comes_with_the_next_task() -> None:
    glue = Glue()
    poll = first_task(glue)
    signal(glue, "late")
    failed = glue.complete_workflow_task(poll, complete_workflow())
    assert failed.reply is not None and failed.reply.status_code == Code.INVALID_ARGUMENT
    assert types(failed) == [
        "WORKFLOW_TASK_FAILED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    cause = failed.events[0].workflow_task_failed_event_attributes.cause
    assert cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND
    assert glue.state is not None and glue.state.is_running


def test_signals_are_refused_while_the_retry_of_a_refused_close_runs() -> None:
    # Temporal's ErrWorkflowClosing: RESOURCE_EXHAUSTED (BUSY_WORKFLOW) only while the task
    # after an UNHANDLED_COMMAND failure is started; scheduled or completed, signals go in.
    glue = Glue()
    poll = first_task(glue)
    signal(glue, "late")
    glue.complete_workflow_task(poll, complete_workflow())
    assert glue.state is not None and glue.state.close_attempted
    assert types(signal(glue, "while-scheduled")) == ["WORKFLOW_EXECUTION_SIGNALED"]
    retry = ok_payload(glue.poll_workflow_task("poll-2"), PollWorkflowTaskQueueResponse)
    refused = signal(glue, "while-started")
    assert refused.reply is not None and refused.reply.status_code == Code.RESOURCE_EXHAUSTED
    assert refused.reply.message == MSG_WORKFLOW_CLOSING
    detail = ResourceExhaustedFailure.FromString(refused.reply.details)
    assert detail.cause == ResourceExhaustedCause.RESOURCE_EXHAUSTED_CAUSE_BUSY_WORKFLOW
    assert detail.scope == ResourceExhaustedScope.RESOURCE_EXHAUSTED_SCOPE_NAMESPACE
    assert refused.events == []
    assert glue.restore() == glue.state
    glue.complete_workflow_task(retry)
    assert glue.state is not None and not glue.state.close_attempted
    assert types(signal(glue, "after")) == [
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_SCHEDULED",
    ]


def test_a_started_task_without_a_refused_close_takes_signals() -> None:
    glue = Glue()
    first_task(glue)
    assert glue.state is not None and not glue.state.close_attempted
    assert types(signal(glue)) == []  # buffered, not refused
    assert glue.state.has_buffered_events


def test_a_retried_signal_writes_nothing_and_succeeds() -> None:
    glue = Glue()
    _idle(glue)
    signal(glue, "go", "same")
    again = signal(glue, "go", "same")
    assert again.events == [] and again.updates == [] and again.tasks == []
    assert ok_payload(again, SignalWorkflowExecutionResponse).link.workflow_event.run_id
    assert glue.state is not None and glue.state.signal_count == 1


def test_a_retry_of_a_buffered_signal_is_recognised() -> None:
    glue = Glue()
    first_task(glue)
    signal(glue, "go", "same")
    again = signal(glue, "go", "same")
    assert again.updates == [] and again.reply is not None and again.reply.ok
    assert glue.state is not None and len(glue.state.buffered_events) == 1


def test_signals_without_request_id_are_never_deduplicated() -> None:
    glue = Glue()
    glue.start()
    request = SignalWorkflowExecutionRequest(
        workflow_execution=WorkflowExecution(workflow_id=glue.workflow_id), signal_name="s"
    )
    glue.submit("SignalWorkflowExecution", request)
    glue.submit("SignalWorkflowExecution", request)
    assert types(glue.events).count("WORKFLOW_EXECUTION_SIGNALED") == 2
    assert glue.state is not None and glue.state.signal_request_ids == []


def test_signal_to_a_closed_workflow_is_not_found() -> None:
    glue = Glue()
    glue.start()
    signal(glue, "go", "before")
    glue.submit("TerminateWorkflowExecution", TerminateWorkflowExecutionRequest())
    closed = signal(glue)
    assert closed.reply is not None and closed.reply.status_code == Code.NOT_FOUND
    assert closed.reply.message == "workflow execution already completed"
    # A retry of a signal the run got still succeeds (Temporal checks request ids first).
    retried = signal(glue, "go", "before")
    assert retried.reply is not None and retried.reply.ok and retried.events == []


def test_signal_to_an_unknown_workflow_or_run_is_not_found() -> None:
    glue = Glue()
    missing = signal(glue)
    assert missing.reply is not None and missing.reply.status_code == Code.NOT_FOUND
    assert missing.reply.message == "workflow not found for ID: wf-1"
    other_run = str(uuid.uuid4())
    missing_run = signal(glue, run_id=other_run)
    assert missing_run.reply is not None and missing_run.reply.message == (
        f'workflow execution not found for workflow ID "wf-1" and run ID "{other_run}"'
    )
    glue.start()
    wrong_run = signal(glue, run_id=other_run)
    assert wrong_run.reply is not None and wrong_run.reply.status_code == Code.NOT_FOUND
    assert wrong_run.events == []
    assert glue.state is not None
    pinned = signal(glue, run_id=glue.state.run_id)
    assert types(pinned) == ["WORKFLOW_EXECUTION_SIGNALED"]


def test_signal_during_a_start_delay_makes_no_task() -> None:
    glue = Glue()
    glue.start(workflow_start_delay=Duration(seconds=30))
    decision = signal(glue)
    assert types(decision) == ["WORKFLOW_EXECUTION_SIGNALED"]
    assert decision.tasks == []
    kinds = [d.kind for d in deadlines(glue.state)]
    assert kinds == [DeadlineKind.FIRST_WORKFLOW_TASK_BACKOFF.value]
    fired = glue.fire(DeadlineKind.FIRST_WORKFLOW_TASK_BACKOFF.value)
    assert types(fired) == ["WORKFLOW_TASK_SCHEDULED"]


def test_signal_limit_is_temporals() -> None:
    glue = Glue()
    glue.start()
    assert glue.state is not None
    glue.state.signal_count = MAX_SIGNALS_PER_EXECUTION - 1
    assert types(signal(glue)) == ["WORKFLOW_EXECUTION_SIGNALED"]
    refused = signal(glue)
    assert refused.reply is not None and refused.reply.status_code == Code.INVALID_ARGUMENT
    assert refused.reply.message == "exceeded workflow execution limit for signal events"
    assert refused.events == []
