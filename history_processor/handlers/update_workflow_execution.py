"""UpdateWorkflowExecution (from the frontend): admit an update, or join the one of its id.

Temporal's history updateworkflow API over Strom's processor. The decision either answers
(an error, or the stage the caller waits for is reached) or has no reply: the caller waits
and the processor keeps the command in memory beside the admitted update
(`history_processor.wf_updates.registry`), deciding it again after every commit on the
workflow. Admitting a new update to a run without a pending workflow task schedules a
speculative one. Nothing of an admitted update is written: a lost registry loses it, and
its caller retries (`env.updates` is the registry's view of the run).
"""

from __future__ import annotations

from google.protobuf.message import DecodeError
from temporalio.api.enums.v1 import ResourceExhaustedCause, ResourceExhaustedScope
from temporalio.api.errordetails.v1 import ResourceExhaustedFailure, WorkflowNotReadyFailure

from history_processor.builder import DecisionBuilder
from history_processor.handling import (
    MSG_WORKFLOW_COMPLETED,
    Env,
    not_found,
    reply_only,
    workflow_not_found,
)
from history_processor.model import Command, Decision
from history_processor.state import ExecutionState
from history_processor.wf_updates import speculative
from history_processor.wf_updates.status import ADMITTED, answer, reached, recorded
from schemas.inbox import UPDATE_WORKFLOW_EXECUTION, UpdateWorkflow
from schemas.reply import Code, Reply

MAX_IN_FLIGHT_UPDATES = 10
"""Updates admitted or accepted but not completed, per run (history.maxInFlightUpdates)."""
MAX_TOTAL_UPDATES = 2000
"""Distinct updates per run, rejected ones aside (history.maxTotalUpdates)."""
FAIL_UPDATE_ATTEMPT = 3
"""From this workflow task attempt on, new updates fail fast (Temporal's
failUpdateWorkflowTaskAttemptCount)."""

MSG_NOT_FOUND = "workflow execution not found"
MSG_ABORTED_BY_CLOSING = "workflow update was aborted by closing workflow"
MSG_TASK_FAILING = (
    "Unable to perform workflow execution update due to Workflow Task in failed state."
)


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Answers the caller, or admits the update and leaves the caller waiting (no reply)."""
    msg: UpdateWorkflow = command.payload
    try:
        request = msg.update_request()
    except DecodeError:
        return reply_only(Reply.error(Code.INVALID_ARGUMENT, "malformed UpdateWorkflowExecution"))
    if state is None:
        return reply_only(workflow_not_found(command.workflow_id))
    run_id = request.workflow_execution.run_id
    if run_id and run_id != state.run_id:
        return reply_only(not_found(MSG_WORKFLOW_COMPLETED))
    first_run = request.first_execution_run_id
    if first_run and first_run != state.first_execution_run_id:
        return reply_only(not_found(MSG_NOT_FOUND))
    update_id = request.request.meta.update_id
    wait_stage = request.wait_policy.lifecycle_stage
    known = recorded(state, update_id, env.read_events)
    if known is not None:
        stage, outcome = known
        if reached(stage, wait_stage):
            return reply_only(answer(UPDATE_WORKFLOW_EXECUTION, state, update_id, stage, outcome))
        return Decision(reply=None)
    if update_id in env.updates:
        if not state.is_running:
            return reply_only(not_found(MSG_ABORTED_BY_CLOSING))
        if reached(ADMITTED, wait_stage):
            return reply_only(answer(UPDATE_WORKFLOW_EXECUTION, state, update_id, ADMITTED, None))
        return Decision(reply=None)
    if not state.is_running:
        return reply_only(not_found(MSG_WORKFLOW_COMPLETED))
    refused = _admission_refused(state, env)
    if refused is not None:
        return reply_only(refused)
    b = DecisionBuilder(state, env.now_ms)
    speculative.schedule(b)
    return b.finish(None)  # the caller waits: the processor admits the update


def _admission_refused(state: ExecutionState, env: Env) -> Reply | None:
    """Temporal's checks before a new update is admitted (task failing, limits)."""
    if state.workflow_task_attempt >= FAIL_UPDATE_ATTEMPT:
        return Reply.error(Code.FAILED_PRECONDITION, MSG_TASK_FAILING, WorkflowNotReadyFailure())
    running = sum(1 for info in state.workflow_updates.values() if not info.completed_event_id)
    if running + len(env.updates) >= MAX_IN_FLIGHT_UPDATES:
        return Reply.error(
            Code.RESOURCE_EXHAUSTED,
            "limit on number of concurrent in-flight updates has been reached "
            f"({MAX_IN_FLIGHT_UPDATES})",
            ResourceExhaustedFailure(
                cause=ResourceExhaustedCause.RESOURCE_EXHAUSTED_CAUSE_CONCURRENT_LIMIT,
                scope=ResourceExhaustedScope.RESOURCE_EXHAUSTED_SCOPE_NAMESPACE,
            ),
        )
    if len(state.workflow_updates) + len(env.updates) >= MAX_TOTAL_UPDATES:
        return Reply.error(
            Code.FAILED_PRECONDITION,
            "The limit on the total number of distinct updates in this workflow has been "
            f"reached ({MAX_TOTAL_UPDATES}). Make sure any duplicate updates share an Update "
            "ID so the server can deduplicate them, and consider rejecting updates that you "
            "aren't going to process. You can also Continue-as-New to avoid this; we "
            "recommend you check Continue-as-New Suggested in your Workflow.",
        )
    return None
