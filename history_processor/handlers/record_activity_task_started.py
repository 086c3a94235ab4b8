"""RecordActivityTaskStarted (from matching): record an attempt's start before a worker gets it."""

from __future__ import annotations

from history_processor import updates as upd
from history_processor.builder import DecisionBuilder
from history_processor.handling import (
    MSG_ACTIVITY_TASK_NOT_FOUND,
    MSG_WORKFLOW_COMPLETED,
    Env,
    not_found,
    reply_only,
    workflow_not_found,
)
from history_processor.model import Command, Decision
from history_processor.state import ExecutionState
from schemas.inbox import ActivityTaskStarted
from schemas.reply import Code, Reply

MSG_ALREADY_STARTED = "Activity task already started."


def stamp_changed(activity_id: str, activity_type: str, stamp: int) -> str:
    """Temporal's message when a task's stamp is no longer the activity's."""
    return (
        f"Activity task rejected; stamp has changed. Id: {activity_id},: type: "
        f"{activity_type}, current stamp: {stamp}"
    )


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Marks the attempt started (the event is written when the attempt ends) and answers OK.

    Matching hands the task to its poller only after an OK, so a task it reads again (after
    a crash or a rebalance) can never reach a second worker: NOT_FOUND when the run, the
    activity or the attempt is gone (e.g. it completed), ALREADY_EXISTS when another
    dispatch started it. A retry of the same dispatch (same request id) is OK again. A task
    made before an operator sent the activity out again (new options, reset, unpause: the
    stamp moved on) gets FAILED_PRECONDITION, Temporal's ObsoleteMatchingTask, and is
    dropped as well.
    """
    msg: ActivityTaskStarted = command.payload
    if state is None:
        return reply_only(workflow_not_found(command.workflow_id))
    if state.run_id != msg.run_id or not state.is_running:
        return reply_only(not_found(MSG_WORKFLOW_COMPLETED))
    info = state.activities.get(msg.scheduled_event_id)
    if info is None or info.attempt != msg.attempt or info.awaiting_retry or info.paused:
        return reply_only(not_found(MSG_ACTIVITY_TASK_NOT_FOUND))
    if info.is_started:
        if msg.request_id and info.request_id == msg.request_id:
            return reply_only(Reply())
        return reply_only(Reply.error(Code.ALREADY_EXISTS, MSG_ALREADY_STARTED))
    if msg.stamp != info.stamp:
        message = stamp_changed(info.activity_id, info.activity_type, info.stamp)
        return reply_only(Reply.error(Code.FAILED_PRECONDITION, message))
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
