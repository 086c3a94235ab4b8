"""ActivityTaskStarted (from matching): an activity attempt went to a worker. No reply needed."""

from __future__ import annotations

from history_processor import updates as upd
from history_processor.builder import DecisionBuilder
from history_processor.handling import Env, reply_only
from history_processor.model import Command, Decision
from history_processor.state import ExecutionState
from schemas.inbox import ActivityTaskStarted
from schemas.reply import Reply


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Records the attempt's start in state; the event is written when the attempt ends.

    Stale notices (other run, other attempt or stamp, already started or completed) change
    nothing.
    """
    msg: ActivityTaskStarted = command.payload
    if state is None or state.run_id != msg.run_id or not state.is_running:
        return reply_only(Reply())
    info = state.activities.get(msg.scheduled_event_id)
    if (
        info is None
        or info.attempt != msg.attempt
        or info.stamp != msg.stamp
        or info.is_started
        or info.awaiting_retry
        or info.paused
    ):
        return reply_only(Reply())
    b = DecisionBuilder(state, env.now_ms)
    b.add_update(
        upd.ActivityStarted(
            scheduled_event_id=info.scheduled_event_id,
            attempt=info.attempt,
            started_time_ms=msg.started_time_ms or env.now_ms,
            request_id=msg.request_id,
            identity=msg.identity,
        )
    )
    return b.finish(Reply())
