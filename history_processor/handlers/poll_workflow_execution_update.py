"""PollWorkflowExecutionUpdate (from the frontend): wait for a known update's stage or outcome.

Temporal's history pollupdate API: an update is known when it is admitted (in the processor's
registry, `env.updates`) or written to the run's history; otherwise NOT_FOUND. A rejected
update left no trace, so polling it is NOT_FOUND too, as on Temporal. A caller whose stage
is not reached waits (no reply) like an UpdateWorkflowExecution caller.
"""

from __future__ import annotations

from google.protobuf.message import DecodeError

from history_processor.handling import (
    MSG_WORKFLOW_COMPLETED,
    Env,
    not_found,
    reply_only,
    workflow_not_found,
)
from history_processor.model import Command, Decision
from history_processor.state import ExecutionState
from history_processor.wf_updates.status import ADMITTED, answer, reached, recorded
from schemas.inbox import POLL_WORKFLOW_EXECUTION_UPDATE, PollWorkflowUpdate
from schemas.reply import Code, Reply

MSG_ABORTED_BY_CLOSING = "workflow update was aborted by closing workflow"
MSG_MALFORMED = "malformed PollWorkflowExecutionUpdate request"
POLL = POLL_WORKFLOW_EXECUTION_UPDATE


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Answers with the update's stage (and outcome), or leaves the caller waiting."""
    msg: PollWorkflowUpdate = command.payload
    try:
        request = msg.poll_request()
    except DecodeError:
        return reply_only(
            Reply.error(Code.INVALID_ARGUMENT, "malformed PollWorkflowExecutionUpdate")
        )
    if state is None:
        return reply_only(workflow_not_found(command.workflow_id))
    ref = request.update_ref
    run_id = ref.workflow_execution.run_id
    if run_id and run_id != state.run_id:
        return reply_only(not_found(MSG_WORKFLOW_COMPLETED))
    update_id = ref.update_id
    wait_stage = request.wait_policy.lifecycle_stage
    known = recorded(state, update_id, env.read_events)
    if known is not None:
        stage, outcome = known
        if reached(stage, wait_stage):
            return reply_only(answer(POLL, state, update_id, stage, outcome))
        return Decision(reply=None)
    if update_id in env.updates:
        if not state.is_running:
            return reply_only(not_found(MSG_ABORTED_BY_CLOSING))
        if reached(ADMITTED, wait_stage):
            return reply_only(answer(POLL, state, update_id, ADMITTED, None))
        return Decision(reply=None)
    return reply_only(not_found(f'update "{update_id}" not found'))
