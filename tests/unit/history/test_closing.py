"""Closing runs: complete, fail, terminate, run timeout; and what a closed run refuses."""

from __future__ import annotations

from typing import Any

from temporalio.api.enums.v1 import RetryState
from temporalio.api.workflowservice.v1 import TerminateWorkflowExecutionRequest

from history_processor.deadlines import DeadlineKind, deadlines
from history_processor.model import Decision
from schemas.reply import Code
from tests.unit.history.harness import (
    Glue,
    complete_workflow,
    fail_workflow,
    first_task,
    payloads,
    schedule_activity,
    types,
)


def _terminate(glue: Glue, **kw: Any) -> Decision:
    return glue.submit("TerminateWorkflowExecution", TerminateWorkflowExecutionRequest(**kw))


def test_complete_workflow() -> None:
    glue = Glue()
    poll = first_task(glue)
    decision = glue.complete_workflow_task(poll, complete_workflow(payloads(b"42")))
    assert types(decision) == ["WORKFLOW_TASK_COMPLETED", "WORKFLOW_EXECUTION_COMPLETED"]
    completed = decision.events[1].workflow_execution_completed_event_attributes
    assert (
        completed.result.payloads[0].data == b"42"
        and completed.workflow_task_completed_event_id == 4
    )
    visibility = decision.visibility
    assert visibility is not None and visibility["status"] == "Completed"
    assert visibility["close_time_ms"] == glue.now_ms and visibility["history_length"] == 5
    assert visibility["version"] == 6 and visibility["execution_duration_ms"] >= 0
    assert deadlines(glue.state) == []


def test_fail_workflow() -> None:
    glue = Glue()
    poll = first_task(glue)
    decision = glue.complete_workflow_task(poll, fail_workflow("bad"))
    assert types(decision) == ["WORKFLOW_TASK_COMPLETED", "WORKFLOW_EXECUTION_FAILED"]
    failed = decision.events[1].workflow_execution_failed_event_attributes
    assert failed.failure.message == "bad"
    assert failed.retry_state == RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET
    assert decision.visibility is not None and decision.visibility["status"] == "Failed"


def test_terminate_with_a_scheduled_task() -> None:
    glue = Glue()
    glue.start()
    decision = _terminate(glue, reason="r", identity="me")
    assert types(decision) == ["WORKFLOW_EXECUTION_TERMINATED"]
    assert decision.reply is not None and decision.reply.ok
    assert glue.state is not None and glue.state.workflow_task is None
    assert deadlines(glue.state) == []


def test_terminate_with_a_started_transient_task() -> None:
    glue = Glue()
    first_task(glue)
    glue.fire(DeadlineKind.WORKFLOW_TASK_START_TO_CLOSE.value)
    glue.poll_workflow_task(request_id="poll-2")  # attempt 2, transient
    decision = _terminate(glue)
    # The transient task fails silently, as in Temporal.
    assert types(decision) == ["WORKFLOW_EXECUTION_TERMINATED"]
    assert decision.events[0].event_id == 5
    assert glue.restore() == glue.state


def test_closed_run_refuses() -> None:
    glue = Glue()
    poll = first_task(glue)
    glue.complete_workflow_task(poll, schedule_activity())
    _terminate(glue)
    again = _terminate(glue).reply
    assert again is not None
    assert (again.status_code, again.message) == (
        Code.NOT_FOUND,
        "workflow execution already completed",
    )
    late = glue.complete_activity(5).reply
    assert late is not None and late.status_code == Code.NOT_FOUND
    missing = Glue(workflow_id="nope")
    reply = _terminate(missing).reply
    assert reply is not None
    assert (reply.status_code, reply.message) == (Code.NOT_FOUND, "workflow not found for ID: nope")


def test_run_timeout() -> None:
    glue = Glue()
    glue.start(workflow_run_timeout={"seconds": 30})
    glue.poll_workflow_task()
    fired = glue.fire(DeadlineKind.WORKFLOW_RUN_TIMEOUT.value)
    assert types(fired) == ["WORKFLOW_TASK_FAILED", "WORKFLOW_EXECUTION_TIMED_OUT"]
    timed_out = fired.events[1].workflow_execution_timed_out_event_attributes
    assert timed_out.retry_state == RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET
    assert fired.visibility is not None and fired.visibility["status"] == "TimedOut"
    assert deadlines(glue.state) == []


def test_execution_timeout_reports_timeout_retry_state() -> None:
    glue = Glue()
    glue.start(workflow_execution_timeout={"seconds": 30})
    fired = glue.fire(DeadlineKind.WORKFLOW_RUN_TIMEOUT.value)
    assert types(fired) == ["WORKFLOW_EXECUTION_TIMED_OUT"]
    assert fired.events[0].workflow_execution_timed_out_event_attributes.retry_state == (
        RetryState.RETRY_STATE_TIMEOUT
    )
