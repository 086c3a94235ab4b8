"""Temporal's per-workflow limits: history length and size terminate the run; pending caps."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import WorkflowTaskFailedCause

from history_processor import settings
from history_processor.pending_limits import PendingLimits
from schemas.reply import Code
from tests.unit.history.harness import (
    Glue,
    first_task,
    schedule_activity,
    sticky,
    types,
    with_activity,
)


def test_a_change_past_the_history_count_limit_terminates_the_run_instead() -> None:
    glue = Glue()
    scheduled = with_activity(glue)  # 5 events so far
    before = glue.state
    assert before is not None
    with settings.overridden(history_count_limit_error=6):
        decision = glue.complete_activity(scheduled)  # Started, Completed, WFT scheduled: 8 > 6
    assert decision.reply is not None
    assert (decision.reply.status_code, decision.reply.message) == (
        Code.INVALID_ARGUMENT,
        "Workflow history count exceeds limit.",
    )
    # The completion was discarded: the run ends right after the events it had.
    assert types(decision) == ["WORKFLOW_EXECUTION_TERMINATED"]
    assert decision.events[0].event_id == before.next_event_id
    attrs = decision.events[0].workflow_execution_terminated_event_attributes
    assert (attrs.reason, attrs.identity) == (
        "Workflow history count exceeds limit.",
        "history-service",
    )
    assert decision.visibility is not None and decision.visibility["status"] == "Terminated"


def test_a_change_past_the_history_size_limit_terminates_the_run() -> None:
    glue = Glue()
    glue.start()
    with settings.overridden(history_size_limit_error=100):
        decision = glue.poll_workflow_task()
    assert decision.reply is not None and decision.reply.message == (
        "Workflow history size exceeds limit."
    )
    assert types(decision) == ["WORKFLOW_EXECUTION_TERMINATED"]


def test_within_the_limits_nothing_changes() -> None:
    glue = Glue()
    scheduled = with_activity(glue)
    decision = glue.complete_activity(scheduled)
    assert decision.reply is not None and decision.reply.ok
    assert "WORKFLOW_EXECUTION_TERMINATED" not in types(decision)


def test_scheduling_past_the_pending_activities_limit_fails_the_task() -> None:
    glue = Glue(pending_limits=PendingLimits(activities=2))
    poll = first_task(glue)
    commands = [schedule_activity(activity_id=str(i)) for i in range(3)]
    decision = glue.complete_workflow_task(poll, *commands, sticky_attributes=sticky())
    assert decision.reply is not None and decision.reply.status_code == Code.INVALID_ARGUMENT
    assert decision.reply.message == (
        "PendingActivitiesLimitExceeded: the number of pending activities, 2, "
        "has reached the per-workflow limit of 2"
    )
    failed = decision.events[0].workflow_task_failed_event_attributes
    cause = WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_PENDING_ACTIVITIES_LIMIT_EXCEEDED
    assert failed.cause == cause


def test_past_the_warning_limits_the_run_goes_on_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    glue = Glue()
    scheduled = with_activity(glue)
    with settings.overridden(history_count_limit_warn=6):
        decision = glue.complete_activity(scheduled)
    assert decision.reply is not None and decision.reply.ok
    assert "WORKFLOW_EXECUTION_TERMINATED" not in types(decision)
    assert "above the warning limit: 8 events" in caplog.text
