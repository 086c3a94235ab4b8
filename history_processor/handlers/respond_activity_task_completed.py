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
from history_processor.handling import Env, pending_activity, reply_only
from history_processor.model import Command, Decision
from history_processor.state import ExecutionState
from history_processor.workflow_tasks import schedule_workflow_task
from schemas.reply import Reply


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Writes ActivityTaskStarted + ActivityTaskCompleted (buffered while a workflow task
    runs) and schedules a workflow task if none is pending."""
    req: RespondActivityTaskCompletedRequest = command.payload
    found = pending_activity(state, req.task_token)
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
