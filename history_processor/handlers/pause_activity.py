"""PauseActivity: an operator holds pending activities; none is dispatched until unpaused."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import PauseActivityRequest, PauseActivityResponse

from history_processor import updates as upd
from history_processor.activity_ops import activity_not_found, selected_ids
from history_processor.builder import DecisionBuilder
from history_processor.handling import Env, reply_only, running_run
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
    missing = running_run(state, command.workflow_id, req.execution.run_id)
    if missing is not None:
        return reply_only(missing)
    assert state is not None
    ids = selected_ids(state, req)
    if not ids:
        return reply_only(activity_not_found())
    b = DecisionBuilder(state, env.now_ms)
    for activity_id in ids:
        info = b.run.activity_by_id(activity_id)
        if info is None:
            return reply_only(activity_not_found())
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
