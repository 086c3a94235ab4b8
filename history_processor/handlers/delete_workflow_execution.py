"""DeleteWorkflowExecution: terminate the run if it runs, then remove all of it."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import (
    DeleteWorkflowExecutionRequest,
    DeleteWorkflowExecutionResponse,
)

from history_processor.builder import DecisionBuilder
from history_processor.closing import terminate
from history_processor.deletion import deleted_visibility
from history_processor.handling import (
    IDENTITY_HISTORY_SERVICE,
    Env,
    reply_only,
    run_not_found,
    workflow_not_found,
)
from history_processor.model import Command, Decision
from history_processor.state import ExecutionState
from schemas.reply import Reply

TERMINATE_REASON = "Delete workflow execution"
"""Temporal's reason for terminating a running workflow it deletes (api/deleteworkflow)."""


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Deletes the workflow id's current run (or the run named, if it is the current one).

    A running run is terminated first (WorkflowExecutionTerminated, identity history-service,
    as Temporal writes it); the processor then removes its events, state, timers and
    visibility document (`Decision.deleted_run`). A later Describe or history read answers
    NOT_FOUND and the workflow id can be started again.

    Must:
        - answer NOT_FOUND for a workflow id without a run, as Temporal does;
        - answer NOT_FOUND for a run id that is not the current run: only the current run's
          deletion is implemented (older runs stay until the workflow id is reused).
    """
    req: DeleteWorkflowExecutionRequest = command.payload
    run_id = req.workflow_execution.run_id
    if state is None:
        return reply_only(workflow_not_found(command.workflow_id))
    if run_id and run_id != state.run_id:
        return reply_only(run_not_found(command.workflow_id, run_id))
    b = DecisionBuilder(state, env.now_ms)
    if state.is_running:
        terminate(b, TERMINATE_REASON, None, IDENTITY_HISTORY_SERVICE)
    b.set_visibility(deleted_visibility(b.run))
    b.delete_run()
    return b.finish(Reply.of(DeleteWorkflowExecutionResponse()))
