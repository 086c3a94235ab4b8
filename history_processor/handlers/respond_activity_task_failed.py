"""RespondActivityTaskFailed: an activity attempt failed; retry it or fail the activity."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType, RetryState
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import ActivityTaskFailedEventAttributes
from temporalio.api.workflowservice.v1 import (
    RespondActivityTaskFailedRequest,
    RespondActivityTaskFailedResponse,
)

from history_processor import updates as upd
from history_processor.activities import close_activity, ensure_started, next_retry, schedule_retry
from history_processor.builder import DecisionBuilder
from history_processor.handling import ActivityRef, Env, pending_activity, reply_only
from history_processor.model import Command, Decision
from history_processor.state import ExecutionState
from history_processor.workflow_tasks import schedule_workflow_task
from schemas.reply import Reply


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Fails the attempt the task token names."""
    req: RespondActivityTaskFailedRequest = command.payload
    return fail(state, pending_activity(state, req.task_token), req, env)


def fail(
    state: ExecutionState | None,
    found: ActivityRef | Reply,
    req: RespondActivityTaskFailedRequest,
    env: Env,
) -> Decision:
    """Applies the retry policy: a retry writes no events (just a backoff deadline); the last
    attempt writes ActivityTaskStarted + ActivityTaskFailed with the final RetryState.

    Shared with RespondActivityTaskFailedById (see `respond_activity_task_completed.complete`).
    """
    if isinstance(found, Reply):
        return reply_only(found)
    b = DecisionBuilder(state, env.now_ms)
    info = ensure_started(b, found[1], req.identity)
    if req.HasField("last_heartbeat_details"):
        b.add_update(
            upd.ActivityHeartbeat(
                scheduled_event_id=info.scheduled_event_id,
                details=req.last_heartbeat_details.SerializeToString(),
                time_ms=env.now_ms,
            )
        )
        info = b.run.activities[info.scheduled_event_id]
    failure = req.failure if req.HasField("failure") else Failure()
    retry_state, backoff_ms = next_retry(info, failure, env.now_ms)
    if retry_state == RetryState.RETRY_STATE_IN_PROGRESS:
        schedule_retry(b, info, failure, backoff_ms, worker_reported=True)
    else:
        attrs = ActivityTaskFailedEventAttributes(
            scheduled_event_id=info.scheduled_event_id,
            failure=failure,
            retry_state=retry_state,  # type: ignore[arg-type]
            identity=req.identity,
        )
        stamp = req.worker_version if req.HasField("worker_version") else None
        close_activity(b, info, EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED, attrs, stamp)
        schedule_workflow_task(b)
    return b.finish(Reply.of(RespondActivityTaskFailedResponse()))
