"""RespondActivityTaskCompleted: an activity attempt succeeded."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import ActivityTaskCompletedEventAttributes
from temporalio.api.workflowservice.v1 import (
    RespondActivityTaskCompletedRequest,
    RespondActivityTaskCompletedResponse,
)

from history_processor.activities import close_activity, ensure_started
from history_processor.builder import DecisionBuilder
from history_processor.handling import ActivityRef, Env, pending_activity, reply_only
from history_processor.model import Command, Decision
from history_processor.state import ExecutionState
from history_processor.workflow_tasks import schedule_workflow_task
from schemas.reply import Reply


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Completes the attempt the task token names."""
    req: RespondActivityTaskCompletedRequest = command.payload
    return complete(state, pending_activity(state, req.task_token), req, env)


def complete(
    state: ExecutionState | None,
    found: ActivityRef | Reply,
    req: RespondActivityTaskCompletedRequest,
    env: Env,
) -> Decision:
    """Writes ActivityTaskStarted + ActivityTaskCompleted (buffered while a workflow task
    runs) and schedules a workflow task if none is pending.

    Shared with RespondActivityTaskCompletedById: `found` is the activity the request
    addresses, or the reply that says why there is none; `req.task_token` is not read.
    """
    if isinstance(found, Reply):
        return reply_only(found)
    b = DecisionBuilder(state, env.now_ms)
    info = ensure_started(b, found[1], req.identity)
    attrs = ActivityTaskCompletedEventAttributes(
        scheduled_event_id=info.scheduled_event_id, identity=req.identity
    )
    if req.HasField("result"):
        attrs.result.CopyFrom(req.result)
    stamp = req.worker_version if req.HasField("worker_version") else None
    close_activity(b, info, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, attrs, stamp)
    schedule_workflow_task(b)
    return b.finish(Reply.of(RespondActivityTaskCompletedResponse()))
