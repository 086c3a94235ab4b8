"""PauseActivity: an operator holds pending activities; none is dispatched until unpaused."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import PauseActivityRequest, PauseActivityResponse

from history_processor import updates as upd
from history_processor.activity_ops import targets
from history_processor.handling import Env, reply_only
from history_processor.model import Command, Decision
from history_processor.state import ExecutionState
from schemas.reply import Code, Reply

MSG_ALREADY_PAUSED = "activity is already paused"


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Pauses the activity named by id, or every pending one of a type (Temporal's api).

    A running attempt goes on; its heartbeats are answered `activity_paused` and, when it
    fails, its next attempt waits for the unpause. Pausing a paused activity again is
    FAILED_PRECONDITION unless the request id is the one that paused it (a retry).
    """
    req: PauseActivityRequest = command.payload
    found = targets(state, command, req, env)
    if isinstance(found, Decision):
        return found
    b, infos = found
    for info in infos:
        if info.pause is not None:
            if info.pause.request_id == req.request_id:
                continue
            return reply_only(Reply.error(Code.FAILED_PRECONDITION, MSG_ALREADY_PAUSED))
        b.add_update(
            upd.ActivityPaused(
                scheduled_event_id=info.scheduled_event_id,
                time_ms=env.now_ms,
                identity=req.identity,
                reason=req.reason,
                request_id=req.request_id,
            )
        )
    return b.finish(Reply.of(PauseActivityResponse()))
