"""CancelExternalWorkflowResult (from the target's shard): ExternalWorkflowExecutionCancelRequested
or RequestCancelExternalWorkflowExecutionFailed in the run that asked."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import (
    ExternalWorkflowExecutionCancelRequestedEventAttributes,
    RequestCancelExternalWorkflowExecutionFailedEventAttributes,
)

from history_processor import external
from history_processor.handling import Env
from history_processor.model import Command, Decision
from history_processor.state import ExecutionState

EVENTS = external.ResultEvents(
    succeeded=EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
    succeeded_attributes=ExternalWorkflowExecutionCancelRequestedEventAttributes,
    failed=EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
    failed_attributes=RequestCancelExternalWorkflowExecutionFailedEventAttributes,
)


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Records the result of a pending cancel request; a new workflow task follows."""
    return external.record_result(state, command, env, lambda run: run.external_cancels, EVENTS)
