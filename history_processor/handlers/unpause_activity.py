"""UnpauseActivity: paused activities run again, optionally from attempt 1."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import UnpauseActivityRequest, UnpauseActivityResponse

from history_processor.activity_ops import invalid, targets, unpause
from history_processor.handling import Env, reply_only
from history_processor.model import Command, Decision
from history_processor.state import ExecutionState, duration_ms
from schemas.reply import Reply

MSG_NEGATIVE_JITTER = "jitter cannot be negative"


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Unpauses the activity named by id, every pending one of a type, or all of them.

    An activity that is not paused is left alone (Temporal's rule). One that is not running
    is dispatched again now, or after a random delay below `jitter`; `reset_attempts`
    starts over at attempt 1, `reset_heartbeat` drops the heartbeat details.
    """
    req: UnpauseActivityRequest = command.payload
    if duration_ms(req.jitter) < 0:
        return reply_only(invalid(MSG_NEGATIVE_JITTER))
    found = targets(state, command, req, env)
    if isinstance(found, Decision):
        return found
    b, infos = found
    for info in infos:
        if not info.paused:
            continue
        unpause(b, info, env, req.jitter, req.reset_attempts, req.reset_heartbeat)
    return b.finish(Reply.of(UnpauseActivityResponse()))
