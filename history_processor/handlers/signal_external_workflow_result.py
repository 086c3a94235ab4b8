"""SignalExternalWorkflowResult (from the target's shard): ExternalWorkflowExecutionSignaled or
SignalExternalWorkflowExecutionFailed in the run that sent the signal."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import (
    ExternalWorkflowExecutionSignaledEventAttributes,
    SignalExternalWorkflowExecutionFailedEventAttributes,
)

from history_processor import external
from history_processor.handling import Env
from history_processor.model import Command, Decision
from history_processor.state import ExecutionState

EVENTS = external.ResultEvents(
    succeeded=EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED,
    succeeded_attributes=ExternalWorkflowExecutionSignaledEventAttributes,
    failed=EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
    failed_attributes=SignalExternalWorkflowExecutionFailedEventAttributes,
)


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Records the result of a pending signal request; a new workflow task follows."""
    return external.record_result(state, command, env, lambda run: run.external_signals, EVENTS)
