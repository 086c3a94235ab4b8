"""SignalExternalWorkflow (from another workflow's shard): WorkflowExecutionSignaled here, and
the result sent back (Temporal's SignalWorkflowExecution called by a signal transfer task)."""

from __future__ import annotations

from temporalio.api.common.v1 import Header, Payloads, WorkflowExecution
from temporalio.api.enums.v1 import EventType, SignalExternalWorkflowExecutionFailedCause
from temporalio.api.history.v1 import WorkflowExecutionSignaledEventAttributes

from history_processor import reach
from history_processor.builder import DecisionBuilder
from history_processor.handlers.signal_workflow_execution import (
    pending_on_backoff,
    signal_limit_error,
    signal_requested,
)
from history_processor.handling import Env
from history_processor.model import Command, Decision
from history_processor.state import ExecutionState
from history_processor.workflow_tasks import schedule_workflow_task
from schemas import inbox

_Cause = SignalExternalWorkflowExecutionFailedCause
NOT_FOUND = (
    _Cause.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND
)
LIMIT_EXCEEDED = _Cause.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_SIGNAL_COUNT_LIMIT_EXCEEDED


def is_parent(state: ExecutionState, request: inbox.ExternalRequest) -> bool:
    """Whether the requester is the parent run of `state` (child_workflow_only requests)."""
    parent = state.parent
    return (
        parent is not None
        and parent.workflow_id == request.source_workflow_id
        and parent.run_id == request.source_run_id
    )


def _failure(state: ExecutionState | None, command: Command) -> int:
    """Why the signal cannot be delivered, in Temporal's causes; 0 if it can."""
    request: inbox.ExternalRequest = command.payload
    # Temporal's transfer task refuses a workflow signaling itself before any lookup.
    if request.source_workflow_id == command.workflow_id and (
        request.source_namespace == command.namespace
    ):
        return NOT_FOUND
    if state is None or (request.run_id and request.run_id != state.run_id):
        return NOT_FOUND
    if signal_requested(state, request.request_id):
        return 0
    if not state.is_running:
        return NOT_FOUND
    if signal_limit_error(state) is not None:
        return LIMIT_EXCEEDED
    if request.child_workflow_only and not is_parent(state, request):
        return NOT_FOUND
    return 0


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Delivers the signal (once per request id) and answers the requester."""
    request: inbox.ExternalRequest = command.payload
    b = DecisionBuilder(state, env.now_ms)
    cause = _failure(state, command)
    if cause or state is None or signal_requested(state, request.request_id):
        reach.answer_request(b, request, inbox.SIGNAL_EXTERNAL_WORKFLOW_RESULT, cause)
        return b.finish(reach.DONE)
    attrs = WorkflowExecutionSignaledEventAttributes(
        signal_name=request.signal_name,
        identity=reach.IDENTITY_HISTORY_SERVICE,
        request_id=request.request_id,
        external_workflow_execution=WorkflowExecution(
            workflow_id=request.source_workflow_id, run_id=request.source_run_id
        ),
    )
    if request.input:
        attrs.input.CopyFrom(Payloads.FromString(request.input))
    if request.header:
        attrs.header.CopyFrom(Header.FromString(request.header))
    b.add_or_buffer(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, attrs)
    if not pending_on_backoff(state):
        schedule_workflow_task(b)
    reach.answer_request(b, request, inbox.SIGNAL_EXTERNAL_WORKFLOW_RESULT, 0)
    return b.finish(reach.DONE)
