"""RespondActivityTaskCanceledById: cancels an activity named by workflow and activity id."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import (
    RespondActivityTaskCanceledByIdRequest,
    RespondActivityTaskCanceledRequest,
)

from history_processor.handlers.respond_activity_task_canceled import cancel
from history_processor.handling import Env, activity_by_id
from history_processor.model import Command, Decision
from history_processor.state import ExecutionState


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Ends the activity's running attempt as canceled (its cancellation must be requested)."""
    req: RespondActivityTaskCanceledByIdRequest = command.payload
    found = activity_by_id(state, command.workflow_id, req.run_id, req.activity_id)
    as_token = RespondActivityTaskCanceledRequest(identity=req.identity, namespace=req.namespace)
    if req.HasField("details"):
        as_token.details.CopyFrom(req.details)
    return cancel(state, found, as_token, env)
