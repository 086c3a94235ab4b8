"""ResetWorkflowExecution: a new run forked from a run's history at a workflow task."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import (
    ResetWorkflowExecutionRequest,
    ResetWorkflowExecutionResponse,
)

from history_processor.builder import DecisionBuilder
from history_processor.closing import terminate
from history_processor.handling import Env, reply_only, run_not_found, workflow_not_found
from history_processor.model import Command, Decision
from history_processor.outbox import visibility_record
from history_processor.reset import (
    IDENTITY_RESETTER,
    MSG_BAD_FINISH_ID,
    ResetPointError,
    ResetSpec,
    reapplies_signals,
    write_reset_run,
)
from history_processor.state import ExecutionState
from schemas.reply import Code, Reply


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Resets the workflow id's current run (running or closed) to a workflow task.

    The base run, if still running, is terminated (the reset's reason, identity
    history-resetter) in the same decision; the new run becomes the current one.

    Must:
        - answer a retried request (same request id) with the run it created, as Temporal
          does when the current run was created by that request id;
        - answer INVALID_ARGUMENT for a point outside (1, last event id] or not right after a
          workflow task's scheduled or started event, and change nothing then;
        - answer NOT_FOUND for an unknown workflow id; a run id other than the current run's
          is not supported yet (UNIMPLEMENTED), as its history is not read here.
    """
    req: ResetWorkflowExecutionRequest = command.payload
    if state is None:
        return reply_only(workflow_not_found(command.workflow_id))
    if req.request_id and state.start_request_id == req.request_id:
        return reply_only(Reply.of(ResetWorkflowExecutionResponse(run_id=state.run_id)))
    base_run_id = req.workflow_execution.run_id or state.run_id
    if base_run_id != state.run_id:
        return reply_only(
            Reply.error(
                Code.UNIMPLEMENTED,
                "Strom resets only the workflow's current run: "
                + run_not_found(command.workflow_id, base_run_id).message,
            )
        )
    finish = req.workflow_task_finish_event_id
    if finish <= 1 or finish >= state.next_event_id:
        return reply_only(Reply.error(Code.INVALID_ARGUMENT, MSG_BAD_FINISH_ID))
    b = DecisionBuilder(state, env.now_ms)
    committed = list(env.read_events(1, state.next_event_id))
    if state.is_running:
        terminate(b, req.reason, None, IDENTITY_RESETTER)
        base_events = committed + b.events
        b.begin_next_run()
    else:
        base_events = committed
    new_run_id = env.new_id()
    spec = ResetSpec(
        namespace=command.namespace,
        namespace_id=command.namespace_id,
        base_run_id=state.run_id,
        new_run_id=new_run_id,
        request_id=req.request_id or new_run_id,
        reason=req.reason,
        finish_event_id=finish,
        reapply_signals=reapplies_signals(
            req.reset_reapply_type, list(req.reset_reapply_exclude_types)
        ),
    )
    try:
        write_reset_run(b, spec, base_events)
    except ResetPointError as exc:
        return reply_only(Reply.error(Code.INVALID_ARGUMENT, str(exc)))
    b.set_visibility(visibility_record(b.run))
    return b.finish(Reply.of(ResetWorkflowExecutionResponse(run_id=new_run_id)))
