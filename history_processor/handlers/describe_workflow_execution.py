"""DescribeWorkflowExecution: a read, answered from state."""

from __future__ import annotations

from history_processor.handling import MSG_WORKFLOW_COMPLETED, Env, not_found
from history_processor.model import Command, Decision
from history_processor.reads import describe_workflow_execution
from history_processor.state import ExecutionState


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Describes the run; a request for another run id than the state's is NOT_FOUND."""
    run_id = command.payload.execution.run_id
    if state is not None and run_id and run_id != state.run_id:
        return Decision(reply=not_found(MSG_WORKFLOW_COMPLETED))
    return Decision(reply=describe_workflow_execution(state, command.workflow_id, env.now_ms))
