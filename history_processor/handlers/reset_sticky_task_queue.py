"""ResetStickyTaskQueue: forget a run's sticky queue; its next workflow task goes to the normal
queue (with the full history)."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import (
    ResetStickyTaskQueueRequest,
    ResetStickyTaskQueueResponse,
)

from history_processor import updates as upd
from history_processor.builder import DecisionBuilder
from history_processor.handling import Env, reply_only, running_run
from history_processor.model import Command, Decision
from history_processor.state import ExecutionState
from schemas.reply import Reply


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Clears the stickiness (Temporal's ClearStickyTaskQueue); writes no event.

    A workflow task already waiting on the sticky queue stays there: its sticky
    schedule-to-start timeout moves it to the normal queue, as in Temporal.
    """
    req: ResetStickyTaskQueueRequest = command.payload
    missing = running_run(state, command.workflow_id, req.execution.run_id)
    if missing is not None:
        return reply_only(missing)
    assert state is not None
    response = Reply.of(ResetStickyTaskQueueResponse())
    if not state.sticky_task_queue:
        return reply_only(response)
    b = DecisionBuilder(state, env.now_ms)
    b.add_update(upd.Sticky())
    return b.finish(response)
