"""TerminateWorkflowExecution: close a run at once."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import (
    TerminateWorkflowExecutionRequest,
    TerminateWorkflowExecutionResponse,
)

from history_processor.builder import DecisionBuilder
from history_processor.closing import terminate
from history_processor.handling import (
    MSG_WORKFLOW_COMPLETED,
    Env,
    not_found,
    reply_only,
    run_not_found,
    workflow_not_found,
)
from history_processor.model import Command, Decision
from history_processor.state import ExecutionState
from schemas.reply import Reply


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Writes WorkflowExecutionTerminated (reason, details, identity).

    A started workflow task is failed first (cause FORCE_CLOSE_COMMAND) and buffered events
    are flushed, as Temporal does; a scheduled one just dies with the run.
    """
    req: TerminateWorkflowExecutionRequest = command.payload
    run_id = req.workflow_execution.run_id
    if state is None:
        return reply_only(workflow_not_found(command.workflow_id))
    if run_id and run_id != state.run_id:
        return reply_only(run_not_found(command.workflow_id, run_id))
    if req.first_execution_run_id and req.first_execution_run_id != state.first_execution_run_id:
        return reply_only(not_found(MSG_WORKFLOW_COMPLETED))
    if not state.is_running:
        return reply_only(not_found(MSG_WORKFLOW_COMPLETED))
    b = DecisionBuilder(state, env.now_ms)
    details = req.details if req.HasField("details") else None
    terminate(b, req.reason, details, req.identity)
    return b.finish(Reply.of(TerminateWorkflowExecutionResponse()))
