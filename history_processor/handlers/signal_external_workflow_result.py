"""SignalExternalWorkflowResult (from the target's shard): ExternalWorkflowExecutionSignaled or
SignalExternalWorkflowExecutionFailed in the run that sent the signal."""

from __future__ import annotations

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import (
    ExternalWorkflowExecutionSignaledEventAttributes,
    SignalExternalWorkflowExecutionFailedEventAttributes,
)

from history_processor import reach
from history_processor.builder import DecisionBuilder
from history_processor.handling import Env
from history_processor.model import Command, Decision
from history_processor.state import ExecutionState
from history_processor.workflow_tasks import schedule_workflow_task
from schemas import inbox

RESULTS = (
    EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED,
    EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
)


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Records the result of a pending signal request; a new workflow task follows."""
    result: inbox.ExternalResult = command.payload
    if state is None or state.run_id != result.source_run_id or not state.is_running:
        return Decision(reply=reach.DONE)
    pending = state.external_signals.get(result.initiated_event_id)
    if pending is None or reach.buffered_about(state, RESULTS, result.initiated_event_id):
        return Decision(reply=reach.DONE)
    execution = WorkflowExecution(workflow_id=pending.workflow_id, run_id=pending.run_id)
    b = DecisionBuilder(state, env.now_ms)
    if result.failed_cause:
        b.add_or_buffer(
            EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
            SignalExternalWorkflowExecutionFailedEventAttributes(
                cause=result.failed_cause,  # type: ignore[arg-type]
                namespace=pending.namespace,
                namespace_id=pending.namespace_id,
                workflow_execution=execution,
                initiated_event_id=pending.initiated_event_id,
                control=pending.control,
            ),
        )
    else:
        b.add_or_buffer(
            EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED,
            ExternalWorkflowExecutionSignaledEventAttributes(
                initiated_event_id=pending.initiated_event_id,
                namespace=pending.namespace,
                namespace_id=pending.namespace_id,
                workflow_execution=execution,
                control=pending.control,
            ),
        )
    schedule_workflow_task(b)
    return b.finish(reach.DONE)
