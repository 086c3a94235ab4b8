"""ResetActivity: pending activities start over at attempt 1 (Temporal's workflow.ResetActivity)."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import ResetActivityRequest, ResetActivityResponse

from history_processor import updates as upd
from history_processor.activity_ops import (
    invalid,
    jitter_offset_ms,
    reschedule,
    scheduled_options,
    set_options,
    targets,
)
from history_processor.builder import DecisionBuilder
from history_processor.handlers.unpause_activity import MSG_NEGATIVE_JITTER
from history_processor.handling import Env, reply_only
from history_processor.model import Command, Decision
from history_processor.state import ActivityInfo, ExecutionState, duration_ms
from schemas.reply import Reply


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Resets the activity named by id, every pending one of a type, or all of them."""
    req: ResetActivityRequest = command.payload
    if duration_ms(req.jitter) < 0:
        return reply_only(invalid(MSG_NEGATIVE_JITTER))
    found = targets(state, command, req, env)
    if isinstance(found, Decision):
        return found
    b, infos = found
    for info in infos:
        _reset(b, info, req, env)
    return b.finish(Reply.of(ResetActivityResponse()))


def _reset(b: DecisionBuilder, info: ActivityInfo, req: ResetActivityRequest, env: Env) -> None:
    """Attempt 1; a running attempt goes on and learns of the reset from its heartbeats
    (`activity_reset`), a waiting one is dispatched again now (plus jitter) unless it stays
    paused. `reset_heartbeat` drops the details for the next attempt; `keep_paused` keeps a
    paused activity paused; `restore_original_options` brings back the scheduled options.
    """
    was_paused = info.paused
    sid = info.scheduled_event_id
    b.add_update(upd.ActivityReset(scheduled_event_id=sid, reset_heartbeats=req.reset_heartbeat))
    if req.restore_original_options:
        set_options(b, info, scheduled_options(info))
    if was_paused and not req.keep_paused:
        b.add_update(upd.ActivityUnpaused(scheduled_event_id=sid))
    current = b.run.activities[sid]
    if current.is_started or current.paused:
        return
    reschedule(b, current, b.now_ms + jitter_offset_ms(env, req.jitter))
