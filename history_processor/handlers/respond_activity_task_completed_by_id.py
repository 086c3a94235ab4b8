"""RespondActivityTaskCompletedById: completes an activity named by workflow and activity id."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import (
    RespondActivityTaskCompletedByIdRequest,
    RespondActivityTaskCompletedRequest,
)

from history_processor.handlers.respond_activity_task_completed import complete
from history_processor.handling import Env, activity_by_id
from history_processor.model import Command, Decision
from history_processor.state import ExecutionState


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Completes the activity's current attempt, even one no worker has started yet
    (Temporal then writes an ActivityTaskStarted carrying the request's identity)."""
    req: RespondActivityTaskCompletedByIdRequest = command.payload
    found = activity_by_id(state, command.workflow_id, req.run_id, req.activity_id, completing=True)
    as_token = RespondActivityTaskCompletedRequest(identity=req.identity, namespace=req.namespace)
    if req.HasField("result"):
        as_token.result.CopyFrom(req.result)
    return complete(state, found, as_token, env)
