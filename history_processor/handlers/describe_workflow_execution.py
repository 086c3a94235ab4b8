"""DescribeWorkflowExecution: a read, answered from state."""

from __future__ import annotations

from history_processor.handling import Env, run_not_found
from history_processor.model import Command, Decision
from history_processor.reads import describe_workflow_execution
from history_processor.state import ExecutionState


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Describes the run; a run id the workflow never had is NOT_FOUND (older runs come
    with their own state, `history_processor.runs`)."""
    run_id = command.payload.execution.run_id
    if run_id and (state is None or run_id != state.run_id):
        return Decision(reply=run_not_found(command.workflow_id, run_id))
    return Decision(reply=describe_workflow_execution(state, command.workflow_id, env.now_ms))
