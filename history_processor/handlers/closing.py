"""Closing a run from outside its workflow code: terminate and time out."""

from __future__ import annotations

from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import (
    WorkflowExecutionTerminatedEventAttributes,
    WorkflowExecutionTimedOutEventAttributes,
)

from history_processor.builder import DecisionBuilder
from history_processor.handlers.common import IDENTITY_HISTORY_SERVICE
from history_processor.outbox import visibility_record
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


def time_out(b: DecisionBuilder, retry_state: int) -> None:
    """Writes WorkflowExecutionTimedOut (failing a started workflow task first)."""
    _fail_started_workflow_task(b)
    b.add_event(
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
        WorkflowExecutionTimedOutEventAttributes(retry_state=retry_state),  # type: ignore[arg-type]
    )
    b.set_visibility(visibility_record(b.run))
