"""RespondWorkflowTaskFailed: the worker could not run the workflow task; retry it."""

from __future__ import annotations

from temporalio.api.enums.v1 import WorkflowTaskFailedCause
from temporalio.api.workflowservice.v1 import (
    RespondWorkflowTaskFailedRequest,
    RespondWorkflowTaskFailedResponse,
)

from history_processor.builder import DecisionBuilder
from history_processor.closing import terminate
from history_processor.handling import (
    IDENTITY_HISTORY_SERVICE,
    Env,
    enum_message,
    reply_only,
    started_workflow_task,
)
from history_processor.model import Command, Decision
from history_processor.state import ExecutionState
from history_processor.workflow_tasks import fail_workflow_task, schedule_workflow_task
from schemas.reply import Reply


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Writes WorkflowTaskFailed (not for transient attempts) and schedules the next attempt.

    The next attempt goes to the normal queue. After a failure on a sticky queue it is attempt
    1 again; otherwise its attempt grows and it is transient: its events appear in history only
    once an attempt completes.
    """
    req: RespondWorkflowTaskFailedRequest = command.payload
    found = started_workflow_task(state, req.task_token)
    if isinstance(found, Reply):
        return reply_only(found)
    b = DecisionBuilder(state, env.now_ms)
    if req.cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_GRPC_MESSAGE_TOO_LARGE:
        # Temporal terminates: retrying cannot shrink the message.
        reason = enum_message(
            WorkflowTaskFailedCause.Name(req.cause), "WORKFLOW_TASK_FAILED_CAUSE_"
        )
        terminate(b, reason, None, IDENTITY_HISTORY_SERVICE)
        return b.finish(Reply.of(RespondWorkflowTaskFailedResponse()))
    failure = req.failure if req.HasField("failure") else None
    fail_workflow_task(b, req.cause, failure, req.identity, req.binary_checksum)
    schedule_workflow_task(b)
    return b.finish(Reply.of(RespondWorkflowTaskFailedResponse()))
