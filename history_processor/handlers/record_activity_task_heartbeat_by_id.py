"""RecordActivityTaskHeartbeatById: heartbeats an activity named by workflow and activity id."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import (
    RecordActivityTaskHeartbeatByIdRequest,
    RecordActivityTaskHeartbeatRequest,
)

from history_processor.handlers.record_activity_task_heartbeat import heartbeat
from history_processor.handling import Env, activity_by_id
from history_processor.model import Command, Decision
from history_processor.state import ExecutionState


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Records the running attempt's heartbeat; the reply is a
    RecordActivityTaskHeartbeatResponse (the frontend answers with the ById response)."""
    req: RecordActivityTaskHeartbeatByIdRequest = command.payload
    found = activity_by_id(state, command.workflow_id, req.run_id, req.activity_id)
    as_token = RecordActivityTaskHeartbeatRequest(identity=req.identity, namespace=req.namespace)
    if req.HasField("details"):
        as_token.details.CopyFrom(req.details)
    return heartbeat(state, found, as_token, env)
