"""ExecuteMultiOperation (from the frontend): update-with-start, decided as one.

Temporal's history multioperation API: with the workflow lock held, it either updates the
running run (the start found it: USE_EXISTING, the same start request id, or an update of
the same id already there) or starts a new run whose first workflow task carries the
update. Strom decides both in one decision on the workflow's shard: the new run's events
commit in one transaction, and the processor admits the update to the run right after that
commit, before any other command of the shard (`wf_updates.waiting.wait`), so no worker can
take the first task without it. The caller then waits like an update caller.

Its waiting copy remembers the run its update went to (`with_start.attached`): when that run
closes before a worker accepted the update, the caller gets Temporal's answer (the start of
its own run stands, the update is aborted; an update sent to a running run is aborted with
ABORTED, which the SDK retries and which then starts a new run).
"""

from __future__ import annotations

from google.protobuf.message import DecodeError
from temporalio.api.enums.v1 import WorkflowIdConflictPolicy
from temporalio.api.workflowservice.v1 import StartWorkflowExecutionRequest

from history_processor.builder import DecisionBuilder
from history_processor.handlers import start_workflow_execution as start
from history_processor.handlers import update_workflow_execution as update
from history_processor.handling import Env, not_found, reply_only
from history_processor.model import Command, Decision
from history_processor.outbox import visibility_record
from history_processor.state import ExecutionState
from history_processor.wf_updates.with_start import ABORTED, OK, failure, wrap
from history_processor.workflow_tasks import schedule_workflow_task
from schemas.inbox import UPDATE_WORKFLOW_EXECUTION, UpdateWithStart, UpdateWorkflow
from schemas.reply import Code, Reply

MSG_ABORTED_BY_CLOSING = "workflow update was aborted by closing workflow"
MSG_NOT_STARTED = "Workflow was not started: StartDeduped"
_USE_EXISTING = WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Updates the running run, or starts one with the update; no reply while the caller
    waits for the update's stage."""
    msg: UpdateWithStart = command.payload
    try:
        start_req = msg.start_request()
        update_id = msg.update_request().request.meta.update_id
    except DecodeError:
        return reply_only(Reply.error(Code.INVALID_ARGUMENT, "malformed ExecuteMultiOperation"))
    workflow_id = start_req.workflow_id or command.workflow_id
    invalid = start.validate(start_req, workflow_id)
    if invalid is not None:
        return reply_only(failure(invalid, ABORTED))
    as_update = Command(
        UPDATE_WORKFLOW_EXECUTION,
        command.command_id,
        command.namespace,
        command.namespace_id,
        command.workflow_id,
        UpdateWorkflow(msg.update, msg.deadline_ms),
    )
    if msg.run_id:
        return _waiting(state, command, as_update, env)
    if state is not None:
        info = state.workflow_updates.get(update_id)
        if (info is not None and info.completed_event_id) or (
            state.is_running and _updates_running(state, start_req, update_id, env)
        ):
            decision = update.handle(state, as_update, env)
            return _wrapped(decision, command, state)
        if start_req.request_id == state.start_request_id:
            # Temporal's starter dedups the start against the closed run: nothing to update.
            return reply_only(failure(Reply.error(Code.UNAVAILABLE, MSG_NOT_STARTED), ABORTED))
        refused = start.resolve_existing(state, start_req)
        if refused is not None:
            return reply_only(failure(refused, ABORTED))
    b = DecisionBuilder(state, env.now_ms)
    run_id = env.new_id()
    if state is not None and start.terminates_running(state, start_req):
        start.replace_running(b, run_id)
    start.create_run(b, command, start_req, workflow_id, env, run_id)
    # The frontend refuses a start delay and cron: the first task is due at once.
    schedule_workflow_task(b)
    b.set_visibility(visibility_record(b.run))
    return b.finish(None)  # the caller waits: the processor admits the update to the new run


def _updates_running(
    state: ExecutionState, start_req: StartWorkflowExecutionRequest, update_id: str, env: Env
) -> bool:
    """Whether the running run gets the update: Temporal's order is a retried start, an
    update of the same id, then the USE_EXISTING conflict policy."""
    return (
        start_req.request_id == state.start_request_id
        or update_id in env.updates
        or update_id in state.workflow_updates
        or start_req.workflow_id_conflict_policy == _USE_EXISTING
    )


def _waiting(
    state: ExecutionState | None, command: Command, as_update: Command, env: Env
) -> Decision:
    """Decides a waiting copy again: answered once its update reaches the stage, or aborted
    when the run it went to closed (or was replaced) before a worker accepted the update."""
    msg: UpdateWithStart = command.payload
    update_id = msg.update_request().request.meta.update_id
    same_run = state is not None and state.run_id == msg.run_id
    if same_run and state is not None and (state.is_running or update_id in state.workflow_updates):
        return _wrapped(update.handle(state, as_update, env), command, state)
    closing = not_found(MSG_ABORTED_BY_CLOSING)
    if msg.started:
        return reply_only(failure(OK, closing))
    # Temporal retries an update aborted by a closing run, then tells the client to retry.
    return reply_only(failure(ABORTED, Reply.error(Code.ABORTED, MSG_ABORTED_BY_CLOSING)))


def _wrapped(decision: Decision, command: Command, state: ExecutionState) -> Decision:
    if decision.reply is not None:
        decision.reply = wrap(command, decision.state or state, decision.reply)
    return decision
