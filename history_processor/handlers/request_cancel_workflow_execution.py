"""RequestCancelWorkflowExecution: WorkflowExecutionCancelRequested, once per run."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import (
    HistoryEvent,
    WorkflowExecutionCancelRequestedEventAttributes,
)
from temporalio.api.workflowservice.v1 import (
    RequestCancelWorkflowExecutionRequest,
    RequestCancelWorkflowExecutionResponse,
)

from history_processor.builder import DecisionBuilder
from history_processor.handling import Env, not_found, reply_only, run_not_found, workflow_not_found
from history_processor.model import Command, Decision
from history_processor.state import ExecutionState
from history_processor.workflow_tasks import schedule_workflow_task
from schemas.reply import Reply

MSG_EXECUTION_NOT_FOUND = "workflow execution not found"

_CANCEL_REQUESTED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED


def cancel_requested(state: ExecutionState) -> bool:
    """True once the run was asked to cancel, the request still buffered or not."""
    if state.cancel_requested:
        return True
    return any(
        HistoryEvent.FromString(raw).event_type == _CANCEL_REQUESTED
        for raw in state.buffered_events
    )


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Asks the run to cancel: the workflow decides what that means in its next task.

    As on Temporal, every request after the first is a success that writes nothing (the
    request ids of retries need no bookkeeping), and so is a request for a closed run.
    """
    req: RequestCancelWorkflowExecutionRequest = command.payload
    first_run_id = req.first_execution_run_id
    # A first execution run id means "the current run of that chain" (Temporal ignores run_id).
    run_id = "" if first_run_id else req.workflow_execution.run_id
    if state is None:
        if run_id:
            return reply_only(run_not_found(command.workflow_id, run_id))
        return reply_only(workflow_not_found(command.workflow_id))
    if run_id and run_id != state.run_id:
        return reply_only(run_not_found(command.workflow_id, run_id))
    ok = Reply.of(RequestCancelWorkflowExecutionResponse())
    if not state.is_running:
        return reply_only(ok)
    if first_run_id and first_run_id != state.first_execution_run_id:
        return reply_only(not_found(MSG_EXECUTION_NOT_FOUND))
    if cancel_requested(state):
        return reply_only(ok)
    b = DecisionBuilder(state, env.now_ms)
    b.add_or_buffer(
        _CANCEL_REQUESTED,
        WorkflowExecutionCancelRequestedEventAttributes(cause=req.reason, identity=req.identity),
        links=req.links,
    )
    # Unlike a signal, a cancel request also cuts a start delay short (Temporal's
    # UpdateWorkflowWithNewWorkflowTask).
    schedule_workflow_task(b)
    return b.finish(ok)
