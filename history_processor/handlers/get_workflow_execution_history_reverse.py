"""GetWorkflowExecutionHistoryReverse: a read, committed events newest first."""

from __future__ import annotations

from history_processor.handling import Env
from history_processor.model import Command, Decision
from history_processor.reads import get_workflow_execution_history_reverse
from history_processor.state import ExecutionState


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """One page of the run's history, from its end backwards."""
    return Decision(
        reply=get_workflow_execution_history_reverse(state, command.payload, env.read_events)
    )
