"""RecordActivityTaskHeartbeat: an activity reports progress; it keeps the heartbeat timer off."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import (
    RecordActivityTaskHeartbeatRequest,
    RecordActivityTaskHeartbeatResponse,
)

from history_processor import updates as upd
from history_processor.activities import ensure_started
from history_processor.builder import DecisionBuilder
from history_processor.handling import ActivityRef, Env, pending_activity, reply_only
from history_processor.model import Command, Decision
from history_processor.state import ExecutionState
from schemas.reply import Reply


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Heartbeats the attempt the task token names."""
    req: RecordActivityTaskHeartbeatRequest = command.payload
    return heartbeat(state, pending_activity(state, req.task_token), req, env)


def heartbeat(
    state: ExecutionState | None,
    found: ActivityRef | Reply,
    req: RecordActivityTaskHeartbeatRequest,
    env: Env,
) -> Decision:
    """Stores the details and time; answers whether the workflow asked to cancel, or an
    operator paused or reset the activity.

    Shared with RecordActivityTaskHeartbeatById (see `respond_activity_task_completed.complete`).
    """
    if isinstance(found, Reply):
        return reply_only(found)
    b = DecisionBuilder(state, env.now_ms)
    info = ensure_started(b, found[1], req.identity)
    b.add_update(
        upd.ActivityHeartbeat(
            scheduled_event_id=info.scheduled_event_id,
            details=req.details.SerializeToString() if req.HasField("details") else b"",
            time_ms=env.now_ms,
        )
    )
    response = RecordActivityTaskHeartbeatResponse(
        cancel_requested=info.cancel_requested,
        activity_paused=info.paused,
        activity_reset=info.activity_reset,
    )
    return b.finish(Reply.of(response))
