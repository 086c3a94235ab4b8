"""RespondActivityTaskFailedById: fails an activity attempt named by workflow and activity id."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import (
    RespondActivityTaskFailedByIdRequest,
    RespondActivityTaskFailedRequest,
)

from history_processor.handlers.respond_activity_task_failed import fail
from history_processor.handling import Env, activity_by_id
from history_processor.model import Command, Decision
from history_processor.state import ExecutionState


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Fails the activity's running attempt; the retry policy decides what follows."""
    req: RespondActivityTaskFailedByIdRequest = command.payload
    found = activity_by_id(state, command.workflow_id, req.run_id, req.activity_id)
    as_token = RespondActivityTaskFailedRequest(identity=req.identity, namespace=req.namespace)
    for name in ("failure", "last_heartbeat_details"):
        if req.HasField(name):
            getattr(as_token, name).CopyFrom(getattr(req, name))
    return fail(state, found, as_token, env)
