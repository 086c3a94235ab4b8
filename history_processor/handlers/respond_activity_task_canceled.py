"""RespondActivityTaskCanceled: a worker ended an attempt the workflow asked to cancel."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import ActivityTaskCanceledEventAttributes
from temporalio.api.workflowservice.v1 import (
    RespondActivityTaskCanceledRequest,
    RespondActivityTaskCanceledResponse,
)

from history_processor.activities import close_activity, ensure_started
from history_processor.builder import DecisionBuilder
from history_processor.handling import (
    MSG_ACTIVITY_NOT_CANCEL_REQUESTED,
    ActivityRef,
    Env,
    pending_activity,
    reply_only,
)
from history_processor.model import Command, Decision
from history_processor.state import ExecutionState
from history_processor.workflow_tasks import schedule_workflow_task
from schemas.reply import Code, Reply


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Cancels the attempt the task token names."""
    req: RespondActivityTaskCanceledRequest = command.payload
    return cancel(state, pending_activity(state, req.task_token), req, env)


def cancel(
    state: ExecutionState | None,
    found: ActivityRef | Reply,
    req: RespondActivityTaskCanceledRequest,
    env: Env,
) -> Decision:
    """Writes ActivityTaskStarted + ActivityTaskCanceled (buffered while a workflow task runs)
    and schedules a workflow task if none is pending.

    Only an activity whose cancellation was requested may end canceled (INVALID_ARGUMENT
    otherwise, as Temporal answers). Shared with RespondActivityTaskCanceledById (see
    `respond_activity_task_completed.complete`).
    """
    if isinstance(found, Reply):
        return reply_only(found)
    if not found[1].cancel_requested:
        return reply_only(Reply.error(Code.INVALID_ARGUMENT, MSG_ACTIVITY_NOT_CANCEL_REQUESTED))
    b = DecisionBuilder(state, env.now_ms)
    info = ensure_started(b, found[1], req.identity)
    attrs = ActivityTaskCanceledEventAttributes(
        scheduled_event_id=info.scheduled_event_id,
        latest_cancel_requested_event_id=info.cancel_request_event_id,
        identity=req.identity,
    )
    if req.HasField("details"):
        attrs.details.CopyFrom(req.details)
    # Temporal writes the started event of a canceled attempt without the worker's stamp.
    close_activity(b, info, EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED, attrs)
    schedule_workflow_task(b)
    return b.finish(Reply.of(RespondActivityTaskCanceledResponse()))
