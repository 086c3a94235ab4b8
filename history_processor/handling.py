"""What every handler uses: its environment, task-token validation and Temporal's messages."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from temporalio.api.errordetails.v1 import NotFoundFailure
from temporalio.api.query.v1 import WorkflowQuery
from temporalio.api.update.v1 import Request as UpdateRequest

from history_processor.model import Decision, EventReader, no_events
from history_processor.older_runs import OlderRuns
from history_processor.pending_limits import PendingLimits
from history_processor.state import ActivityInfo, ExecutionState, WorkflowTaskInfo
from schemas import tokens
from schemas.exceptions import TaskTokenError
from schemas.reply import Code, Reply
from schemas.visibility.attributes import ValueType

# Temporal's wording (service/history/consts, api/*), so SDKs and users see familiar errors.
MSG_BAD_TOKEN = "error deserializing task token"
MSG_WORKFLOW_TASK_NOT_FOUND = "Workflow task not found."
MSG_WORKFLOW_COMPLETED = "workflow execution already completed"
MSG_ACTIVITY_TASK_NOT_FOUND = (
    "invalid activityID or activity already timed out or invoking workflow is completed"
)
MSG_ACTIVITY_NOT_CANCEL_REQUESTED = (
    "unable to mark activity as canceled without activity being request canceled first"
)
IDENTITY_HISTORY_SERVICE = "history-service"


@dataclass(frozen=True)
class Env:
    """What a handler may use besides state and command.

    Attributes:
        now_ms: The decision's clock reading.
        new_id: Generator of new unique ids (run ids, eager activity request ids).
        read_events: Reader of the current run's committed events.
        queries: The run's buffered consistent queries by query id (kept in the processor's
            memory, never in state; see `history_processor.queries`): a started workflow
            task carries them to the worker.
        search_attributes: The custom search attributes of the command's namespace and their
            types (from the namespaces topic), for checking what workflows set.
        older_runs: Readers of the workflow id's other kept runs (reset, delete by run id).
        updates: The run's admitted workflow updates by update id, in admission order
            (kept in the processor's memory, never in state; see
            `history_processor.wf_updates`): a started workflow task carries their requests.
        pending_limits: The operator's caps on a run's pending activities, children, signals
            and cancel requests.
    """

    now_ms: int
    new_id: Callable[[], str]
    read_events: EventReader = no_events
    queries: Mapping[str, WorkflowQuery] = field(default_factory=dict)
    search_attributes: Mapping[str, ValueType] = field(default_factory=dict)
    older_runs: OlderRuns = field(default_factory=OlderRuns)
    updates: Mapping[str, UpdateRequest] = field(default_factory=dict)
    pending_limits: PendingLimits = field(default_factory=PendingLimits)


def reply_only(reply: Reply | None) -> Decision:
    """A decision that changes nothing."""
    return Decision(reply=reply)


def not_found(message: str) -> Reply:
    """Temporal's serviceerror.NotFound: NOT_FOUND with an (empty) NotFoundFailure detail."""
    return Reply.error(Code.NOT_FOUND, message, NotFoundFailure())


def workflow_not_found(workflow_id: str) -> Reply:
    """Temporal's NOT_FOUND for a workflow id without any run."""
    return not_found(f"workflow not found for ID: {workflow_id}")


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


def start_not_seen(state: ExecutionState | None, token_bytes: bytes) -> bool:
    """Whether a workflow task token names the run's current task, which is not started yet.

    Matching answers a poll once its RecordWorkflowTaskStarted is in the inbox; a completion
    that came to history directly (`streams.direct`) may overtake it. Through the inbox it
    comes after the start, so such a completion is sent again that way.
    """
    try:
        token = tokens.decode(token_bytes)
    except TaskTokenError:
        return False
    task = state.workflow_task if state is not None else None
    return (
        state is not None
        and task is not None
        and state.is_running
        and not task.is_started
        and token.kind is tokens.TaskKind.WORKFLOW
        and state.run_id == token.run_id
        and task.scheduled_event_id == token.scheduled_event_id
        and task.attempt == token.attempt
    )


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
        return not_found(MSG_WORKFLOW_TASK_NOT_FOUND)
    task = state.workflow_task
    if (
        not state.is_running
        or task is None
        or not task.is_started
        or task.scheduled_event_id != token.scheduled_event_id
        or (token.started_event_id and token.started_event_id != task.started_event_id)
        or task.attempt != token.attempt
    ):
        return not_found(MSG_WORKFLOW_TASK_NOT_FOUND)
    return token, task


def running_run(state: ExecutionState | None, workflow_id: str, run_id: str) -> Reply | None:
    """Why a request for (workflow id, run id or "" for the current run) finds no running
    run, in Temporal's words; None when `state` is that run and it runs.

    Commands that write are decided on the current run, so another run id is one that
    already ended (older runs are kept only for reads, `history_processor.runs`).
    """
    if state is None:
        if run_id:
            return Reply.error(
                Code.NOT_FOUND,
                f'workflow execution not found for workflow ID "{workflow_id}" '
                f'and run ID "{run_id}"',
            )
        return workflow_not_found(workflow_id)
    if (run_id and run_id != state.run_id) or not state.is_running:
        return not_found(MSG_WORKFLOW_COMPLETED)
    return None


ActivityRef = tuple[tokens.TaskToken, ActivityInfo]
"""An activity a worker addresses, and the token (given or made up) that names its attempt."""


def pending_activity(state: ExecutionState | None, token_bytes: bytes) -> ActivityRef | Reply:
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
        return not_found(MSG_WORKFLOW_COMPLETED)
    info = state.activities.get(token.scheduled_event_id)
    if info is None or info.attempt != token.attempt or info.awaiting_retry:
        return not_found(MSG_ACTIVITY_TASK_NOT_FOUND)
    return token, info


def activity_by_id(
    state: ExecutionState | None,
    workflow_id: str,
    run_id: str,
    activity_id: str,
    completing: bool = False,
) -> ActivityRef | Reply:
    """Finds a pending activity by its id, for the *ById RPCs (no task token).

    Temporal's rules for a token without scheduled event id: the current run when `run_id`
    is empty, any attempt; only a completion may address an activity no worker has started
    (its ActivityTaskStarted is then made up from the request). Matching records a start
    (RecordActivityTaskStarted) before the worker gets the task, so a call made after the
    activity ran finds it started.

    Args:
        state: The workflow id's current run.
        workflow_id: Workflow id of the request.
        run_id: Run id of the request, "" for the current run.
        activity_id: The activity id.
        completing: True for RespondActivityTaskCompletedById.

    Returns:
        (a token naming the current attempt, the activity), or Temporal's error reply.
    """
    missing = running_run(state, workflow_id, run_id)
    if missing is not None:
        return missing
    assert state is not None
    if not activity_id:
        return Reply.error(Code.INVALID_ARGUMENT, "activityID cannot be empty")
    info = state.activity_by_id(activity_id)
    if info is None:
        return Reply.error(
            Code.NOT_FOUND,
            f"cannot find pending activity with ActivityID {activity_id}, check workflow "
            "execution history for more details",
        )
    if not completing and (not info.is_started or info.awaiting_retry):
        return not_found(MSG_ACTIVITY_TASK_NOT_FOUND)
    token = tokens.TaskToken(
        kind=tokens.TaskKind.ACTIVITY,
        namespace_id=state.namespace_id,
        workflow_id=state.workflow_id,
        run_id=state.run_id,
        scheduled_event_id=info.scheduled_event_id,
        attempt=info.attempt,
        activity_id=info.activity_id,
    )
    return token, info


def run_not_found(workflow_id: str, run_id: str) -> Reply:
    """Temporal's NOT_FOUND for a run id the workflow id never had.

    (A request naming one of its older runs is decided on that run's state, see
    `history_processor.runs`, so a handler that sees another run id has an unknown one.)
    """
    return not_found(
        f'workflow execution not found for workflow ID "{workflow_id}" and run ID "{run_id}"'
    )
