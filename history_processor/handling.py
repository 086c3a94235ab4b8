"""What every handler uses: its environment, task-token validation and Temporal's messages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from history_processor.model import Decision, EventReader, no_events
from history_processor.state import ActivityInfo, ExecutionState, WorkflowTaskInfo
from schemas import tokens
from schemas.exceptions import TaskTokenError
from schemas.reply import Code, Reply

# Temporal's wording (service/history/consts, api/*), so SDKs and users see familiar errors.
MSG_BAD_TOKEN = "error deserializing task token"
MSG_WORKFLOW_TASK_NOT_FOUND = "Workflow task not found."
MSG_WORKFLOW_COMPLETED = "workflow execution already completed"
MSG_ACTIVITY_TASK_NOT_FOUND = (
    "invalid activityID or activity already timed out or invoking workflow is completed"
)
IDENTITY_HISTORY_SERVICE = "history-service"


@dataclass(frozen=True)
class Env:
    """What a handler may use besides state and command.

    Attributes:
        now_ms: The decision's clock reading.
        new_id: Generator of new unique ids (run ids, eager activity request ids).
        read_events: Reader of the current run's committed events.
    """

    now_ms: int
    new_id: Callable[[], str]
    read_events: EventReader = no_events


def reply_only(reply: Reply | None) -> Decision:
    """A decision that changes nothing."""
    return Decision(reply=reply)


def workflow_not_found(workflow_id: str) -> Reply:
    """Temporal's NOT_FOUND for a workflow id without any run."""
    return Reply.error(Code.NOT_FOUND, f"workflow not found for ID: {workflow_id}")


def enum_message(name: str, prefix: str) -> str:
    """Go's String() of a Temporal enum value, e.g. UNHANDLED_COMMAND -> UnhandledCommand."""
    return "".join(part.capitalize() for part in name.removeprefix(prefix).split("_"))


def decode_token(data: bytes, kind: tokens.TaskKind) -> tokens.TaskToken | Reply:
    """The token, or Temporal's INVALID_ARGUMENT for garbage or a token of the other kind."""
    try:
        token = tokens.decode(data)
    except TaskTokenError:
        return Reply.error(Code.INVALID_ARGUMENT, MSG_BAD_TOKEN)
    if token.kind is not kind:
        return Reply.error(Code.INVALID_ARGUMENT, MSG_BAD_TOKEN)
    return token


def started_workflow_task(
    state: ExecutionState | None, token_bytes: bytes
) -> tuple[tokens.TaskToken, WorkflowTaskInfo] | Reply:
    """Validates a workflow task token against state (the checks of Temporal's Respond*).

    Returns:
        (token, started task), or the NOT_FOUND / INVALID_ARGUMENT reply.
    """
    token = decode_token(token_bytes, tokens.TaskKind.WORKFLOW)
    if isinstance(token, Reply):
        return token
    if state is None or state.run_id != token.run_id or state.workflow_id != token.workflow_id:
        return Reply.error(Code.NOT_FOUND, MSG_WORKFLOW_TASK_NOT_FOUND)
    task = state.workflow_task
    if (
        not state.is_running
        or task is None
        or not task.is_started
        or task.scheduled_event_id != token.scheduled_event_id
        or (token.started_event_id and token.started_event_id != task.started_event_id)
        or task.attempt != token.attempt
    ):
        return Reply.error(Code.NOT_FOUND, MSG_WORKFLOW_TASK_NOT_FOUND)
    return token, task


def pending_activity(
    state: ExecutionState | None, token_bytes: bytes
) -> tuple[tokens.TaskToken, ActivityInfo] | Reply:
    """Validates an activity task token against state (IsActivityTaskNotFoundForToken).

    Returns:
        (token, activity) for the token's attempt, or the error reply.
    """
    token = decode_token(token_bytes, tokens.TaskKind.ACTIVITY)
    if isinstance(token, Reply):
        return token
    if state is None or state.workflow_id != token.workflow_id:
        return workflow_not_found(token.workflow_id)
    if state.run_id != token.run_id or not state.is_running:
        return Reply.error(Code.NOT_FOUND, MSG_WORKFLOW_COMPLETED)
    info = state.activities.get(token.scheduled_event_id)
    if info is None or info.attempt != token.attempt or info.awaiting_retry:
        return Reply.error(Code.NOT_FOUND, MSG_ACTIVITY_TASK_NOT_FOUND)
    return token, info


def run_not_found(workflow_id: str, run_id: str) -> Reply:
    """Temporal's NOT_FOUND for a run id that is not the workflow's current run.

    Strom keeps the state of a workflow id's current run only, so an older run and a run that
    never existed look the same; both get the message Temporal gives for a missing run.
    """
    return Reply.error(
        Code.NOT_FOUND,
        f'workflow execution not found for workflow ID "{workflow_id}" and run ID "{run_id}"',
    )
