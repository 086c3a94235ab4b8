"""GetWorkflowExecutionHistory: a read, answered from state and stored events."""

from __future__ import annotations

from history_processor.handling import Env
from history_processor.model import Command, Decision
from history_processor.reads import get_workflow_execution_history
from history_processor.state import ExecutionState


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """A page of history; reply None means a long poll waiting for the run's next commit."""
    return Decision(reply=get_workflow_execution_history(state, command.payload, env.read_events))
