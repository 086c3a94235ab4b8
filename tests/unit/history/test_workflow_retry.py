"""Workflow retry policies: a failed or timed-out run is followed by its retry."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.api.command.v1 import Command as WorkflowCommand
from temporalio.api.common.v1 import Priority, RetryPolicy
from temporalio.api.enums.v1 import CommandType, ContinueAsNewInitiator, RetryState
from temporalio.api.history.v1 import HistoryEvent

from history_processor.deadlines import DeadlineKind
from tests.unit.history.golden import load
from tests.unit.history.harness import RUN_SPECIFIC, Glue, comparable, first_task, types

_RUN_SPECIFIC = RUN_SPECIFIC


def _comparable(event: HistoryEvent) -> dict[str, Any]:
    return comparable(event, _RUN_SPECIFIC)


def _fail_command(golden_event: HistoryEvent) -> WorkflowCommand:
    command = WorkflowCommand(command_type=CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION)
    command.fail_workflow_execution_command_attributes.failure.CopyFrom(
        golden_event.workflow_execution_failed_event_attributes.failure
    )
    return command


def test_failed_run_is_retried_like_on_the_dev_server() -> None:
    run1, run2 = load("retried_run_run1"), load("retried_run_run2")
    start = run1.events[0].workflow_execution_started_event_attributes
    glue = Glue(workflow_id=start.workflow_id)
    glue.start(
        workflow_type=start.workflow_type.name,
        input=start.input,
        retry_policy=start.retry_policy,
        priority=start.priority,
    )
    first_run = glue.state.run_id  # type: ignore[union-attr]
    task = first_task(glue)
    glue.now_ms += 2_000  # the run lived past Temporal's minimal interval
    decision = glue.complete_workflow_task(task, _fail_command(run1.events[4]))
    closed = glue.older_runs[first_run]
    assert [_comparable(e) for e in closed[1:]] == [_comparable(e) for e in run1.events[1:]]
    failed = closed[-1].workflow_execution_failed_event_attributes
    assert failed.retry_state == RetryState.RETRY_STATE_IN_PROGRESS
    assert failed.new_execution_run_id == glue.state.run_id  # type: ignore[union-attr]
    # The retry: the first start's attributes, attempt 2, the failure, a 1 s backoff.
    assert _comparable(glue.events[0]) == _comparable(run2.events[0])
    started = glue.events[0].workflow_execution_started_event_attributes
    assert started.initiator == ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_RETRY
    assert started.continued_execution_run_id == first_run
    assert started.first_execution_run_id == first_run
    assert started.attempt == 2
    assert len(decision.closed_runs) == 1
    glue.fire(DeadlineKind.FIRST_WORKFLOW_TASK_BACKOFF.value)
    assert types(glue.events) == ["WORKFLOW_EXECUTION_STARTED", "WORKFLOW_TASK_SCHEDULED"]
    assert glue.restore() == glue.state


def test_last_attempt_is_not_retried() -> None:
    glue = Glue()
    policy = RetryPolicy(maximum_attempts=1)
    glue.start(retry_policy=policy)
    glue.complete_workflow_task(first_task(glue), _fail("boom"))
    assert glue.state is not None and not glue.state.is_running
    failed = glue.events[-1].workflow_execution_failed_event_attributes
    assert failed.retry_state == RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED
    assert failed.new_execution_run_id == ""


def test_non_retryable_failure_is_not_retried() -> None:
    glue = Glue()
    glue.start(retry_policy=RetryPolicy(maximum_attempts=5))
    command = _fail("boom")
    failure = command.fail_workflow_execution_command_attributes.failure
    failure.application_failure_info.non_retryable = True
    decision = glue.complete_workflow_task(first_task(glue), command)
    assert decision.closed_runs == []
    failed = glue.events[-1].workflow_execution_failed_event_attributes
    assert failed.retry_state == RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE


def test_run_timeout_is_retried_with_a_timeout_failure() -> None:
    glue = Glue()
    run_timeout = timedelta(seconds=5)
    glue.start(retry_policy=RetryPolicy(maximum_attempts=3), workflow_run_timeout=run_timeout)
    first_run = glue.state.run_id  # type: ignore[union-attr]
    decision = glue.fire(DeadlineKind.WORKFLOW_RUN_TIMEOUT.value)
    (closed,) = decision.closed_runs
    timed_out = closed.events[-1].workflow_execution_timed_out_event_attributes
    assert timed_out.retry_state == RetryState.RETRY_STATE_IN_PROGRESS
    started = glue.events[0].workflow_execution_started_event_attributes
    assert timed_out.new_execution_run_id == glue.state.run_id  # type: ignore[union-attr]
    assert started.continued_execution_run_id == first_run and started.attempt == 2
    assert started.continued_failure.timeout_failure_info.timeout_type == 1  # START_TO_CLOSE
    assert started.workflow_run_timeout.ToSeconds() == 5
    assert started.first_workflow_task_backoff.ToMilliseconds() == 1_000


def _fail(message: str) -> WorkflowCommand:
    command = WorkflowCommand(command_type=CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION)
    failure = command.fail_workflow_execution_command_attributes.failure
    failure.message = message
    failure.application_failure_info.SetInParent()
    return command


def test_the_next_run_keeps_the_priority() -> None:
    glue = Glue()
    glue.start(retry_policy=RetryPolicy(maximum_attempts=2), priority=Priority(priority_key=3))
    glue.now_ms += 2_000
    glue.complete_workflow_task(first_task(glue), _fail("boom"))
    started = glue.events[0].workflow_execution_started_event_attributes
    assert started.attempt == 2 and started.priority.priority_key == 3
