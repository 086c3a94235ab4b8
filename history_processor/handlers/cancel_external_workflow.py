"""CancelExternalWorkflow (from another workflow's shard): WorkflowExecutionCancelRequested
here, and the result sent back (Temporal's RequestCancelWorkflowExecution called by a cancel
transfer task or by a parent close policy)."""

from __future__ import annotations

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import CancelExternalWorkflowExecutionFailedCause, EventType
from temporalio.api.history.v1 import WorkflowExecutionCancelRequestedEventAttributes

from history_processor import reach
from history_processor.builder import DecisionBuilder
from history_processor.handlers.request_cancel_workflow_execution import cancel_requested
from history_processor.handlers.signal_external_workflow import is_parent
from history_processor.handling import Env
from history_processor.model import Command, Decision
from history_processor.state import ExecutionState
from history_processor.workflow_tasks import schedule_workflow_task
from schemas import inbox

_Enum = CancelExternalWorkflowExecutionFailedCause
NOT_FOUND = (
    _Enum.CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND
)


def _failure(state: ExecutionState | None, command: Command) -> int | None:
    """NOT_FOUND when the request cannot reach a run, 0 when it is a success that writes
    nothing (closed run, repeated request), None when the request is to be written."""
    request: inbox.ExternalRequest = command.payload
    # Temporal's transfer task refuses a workflow canceling itself before any lookup.
    if request.source_workflow_id == command.workflow_id and (
        request.source_namespace == command.namespace
    ):
        return NOT_FOUND
    run_id = "" if request.first_execution_run_id else request.run_id
    if state is None or (run_id and run_id != state.run_id):
        return NOT_FOUND
    if not state.is_running:
        return 0
    first = request.first_execution_run_id
    if first and first != state.first_execution_run_id:
        return NOT_FOUND
    if request.child_workflow_only and not is_parent(state, request):
        return NOT_FOUND
    if cancel_requested(state):
        return 0
    return None


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Asks the run to cancel (once) and answers the requester."""
    request: inbox.ExternalRequest = command.payload
    b = DecisionBuilder(state, env.now_ms)
    cause = _failure(state, command)
    if cause is not None:
        reach.answer_request(b, request, inbox.CANCEL_EXTERNAL_WORKFLOW_RESULT, cause)
        return b.finish(reach.DONE)
    attrs = WorkflowExecutionCancelRequestedEventAttributes(
        cause=request.reason,
        external_initiated_event_id=request.initiated_event_id,
        external_workflow_execution=WorkflowExecution(
            workflow_id=request.source_workflow_id, run_id=request.source_run_id
        ),
        identity=reach.IDENTITY_HISTORY_SERVICE,
    )
    b.add_or_buffer(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED, attrs)
    schedule_workflow_task(b)
    reach.answer_request(b, request, inbox.CANCEL_EXTERNAL_WORKFLOW_RESULT, 0)
    return b.finish(reach.DONE)
