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
from schemas.outbox import Destination, OutboxRecord
from schemas.reply import Reply

TERMINATE_REASON = "Delete workflow execution"
"""Temporal's reason for terminating a running workflow it deletes (api/deleteworkflow)."""


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Deletes the run named (any run the shard keeps), or the workflow id's current run.

    A running run is terminated first (WorkflowExecutionTerminated, identity history-service,
    as Temporal writes it); the processor then removes its events, state, timers and
    visibility document (`Decision.deleted_run`). A later Describe or history read answers
    NOT_FOUND and the workflow id can be started again.

    Must:
        - answer NOT_FOUND for a workflow id without a run, or a run id it does not keep,
          as Temporal does.
    """
    req: DeleteWorkflowExecutionRequest = command.payload
    run_id = req.workflow_execution.run_id
    if state is None:
        return reply_only(workflow_not_found(command.workflow_id))
    if run_id and run_id != state.run_id:
        older = env.older_runs.state(run_id)
        if older is None:
            return reply_only(run_not_found(command.workflow_id, run_id))
        # A replaced run is closed: nothing to write to it, only to remove.
        return Decision(
            reply=Reply.of(DeleteWorkflowExecutionResponse()),
            outbox=[OutboxRecord(Destination.VISIBILITY, deleted_visibility(older))],
            deleted_run=older,
        )
    b = DecisionBuilder(state, env.now_ms)
    if state.is_running:
        terminate(b, TERMINATE_REASON, None, IDENTITY_HISTORY_SERVICE)
    b.set_visibility(deleted_visibility(b.run))
    b.delete_run()
    return b.finish(Reply.of(DeleteWorkflowExecutionResponse()))
