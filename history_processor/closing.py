"""Closing a run from outside its workflow code (terminate, time out) and its retry state."""

from __future__ import annotations

from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import EventType, RetryState, WorkflowTaskFailedCause
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import (
    WorkflowExecutionTerminatedEventAttributes,
    WorkflowExecutionTimedOutEventAttributes,
)

from history_processor.activities import is_retryable
from history_processor.builder import DecisionBuilder
from history_processor.handling import IDENTITY_HISTORY_SERVICE
from history_processor.outbox import visibility_record
from history_processor.state import ExecutionState
from history_processor.workflow_tasks import fail_workflow_task


def _fail_started_workflow_task(b: DecisionBuilder) -> None:
    """Temporal's failWorkflowTask(FORCE_CLOSE_COMMAND) + FlushBufferedEvents before closing."""
    task = b.run.workflow_task
    if task is None or not task.is_started:
        return
    fail_workflow_task(
        b,
        WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND,
        None,
        IDENTITY_HISTORY_SERVICE,
    )
    b.flush_buffer()


def terminate(b: DecisionBuilder, reason: str, details: Payloads | None, identity: str) -> None:
    """Writes WorkflowExecutionTerminated (failing a started workflow task first)."""
    _fail_started_workflow_task(b)
    b.add_event(
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
        WorkflowExecutionTerminatedEventAttributes(
            reason=reason, details=details, identity=identity
        ),
    )
    b.set_visibility(visibility_record(b.run))


def time_out(b: DecisionBuilder, retry_state: int, new_execution_run_id: str = "") -> None:
    """Writes WorkflowExecutionTimedOut (failing a started workflow task first); a retried
    run's close event names its successor."""
    _fail_started_workflow_task(b)
    b.add_event(
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
        WorkflowExecutionTimedOutEventAttributes(
            retry_state=retry_state,  # type: ignore[arg-type]
            new_execution_run_id=new_execution_run_id,
        ),
    )
    b.set_visibility(visibility_record(b.run))


def workflow_retry_state(state: ExecutionState, failure: Failure | None) -> int:
    """RetryState written into a close event.

    Strom does not start retry runs of a workflow yet; a run with a retry policy reports the
    state Temporal would report had it stopped retrying.
    """
    policy = state.retry_policy
    if policy is None:
        return RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET
    if failure is not None and not is_retryable(failure, policy.non_retryable_error_types):
        return RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE
    if policy.maximum_attempts > 0 and state.attempt >= policy.maximum_attempts:
        return RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED
    return RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET
