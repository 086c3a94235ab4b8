"""ResetWorkflowExecution: a new run forked from a run's history at a workflow task.

The base run records the new run's id when it is the current run (Describe shows it as
``workflow_extended_info.reset_run_id``, as Temporal's UpdateResetRunID does). An older base
run of a continue-as-new chain does not: Strom writes to the current run of a workflow id
only, and an older run's state is what its last batch left.
"""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import (
    ResetWorkflowExecutionRequest,
    ResetWorkflowExecutionResponse,
)

from history_processor import updates as upd
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
    later_runs_events,
    reapplies_signals,
    write_reset_run,
)
from history_processor.state import ExecutionState
from schemas.reply import Code, Reply


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Resets a run of the workflow id (the current one unless named; running or closed)
    to a workflow task.

    The current run, if still running, is terminated (the reset's reason, identity
    history-resetter) in the same decision; the new run becomes the current one. An older
    run of a continue-as-new chain may be reset: the signals of the runs after it in the
    chain, up to the current one, are reapplied too (Temporal's
    reapplyContinueAsNewWorkflowEvents).

    Must:
        - answer a retried request (same request id) with the run it created, as Temporal
          does when the current run was created by that request id;
        - answer INVALID_ARGUMENT for a point outside (1, last event id] or not right after a
          workflow task's scheduled or started event, and change nothing then;
        - answer NOT_FOUND for an unknown workflow id or a run id the shard does not keep.
    """
    req: ResetWorkflowExecutionRequest = command.payload
    if state is None:
        return reply_only(workflow_not_found(command.workflow_id))
    if req.request_id and state.start_request_id == req.request_id:
        return reply_only(Reply.of(ResetWorkflowExecutionResponse(run_id=state.run_id)))
    base_run_id = req.workflow_execution.run_id or state.run_id
    base = state if base_run_id == state.run_id else env.older_runs.state(base_run_id)
    if base is None:
        return reply_only(run_not_found(command.workflow_id, base_run_id))
    finish = req.workflow_task_finish_event_id
    if finish <= 1 or finish >= base.next_event_id:
        return reply_only(Reply.error(Code.INVALID_ARGUMENT, MSG_BAD_FINISH_ID))
    b = DecisionBuilder(state, env.now_ms)
    if base is state:
        committed = list(env.read_events(1, state.next_event_id))
    else:
        committed = list(env.older_runs.read_events(base.run_id, 1, base.next_event_id))
    base_events = committed
    reapply = reapplies_signals(req.reset_reapply_type, list(req.reset_reapply_exclude_types))
    # Only signals are reapplied: without them no later run of the chain needs reading.
    chained = reapply and base is not state
    current_events = list(env.read_events(1, state.next_event_id)) if chained else []
    new_run_id = env.new_id()
    was_running = state.is_running
    if was_running:
        # The current run ends, whichever run is reset (Temporal terminates the current one).
        terminate(b, req.reason, None, IDENTITY_RESETTER)
        if base is state:
            base_events = committed + b.events
        else:
            current_events += b.events
    if base is state:
        # The base run points to the run its reset made (an older base is left alone; see
        # the module docstring).
        b.add_update(upd.ResetRun(run_id=new_run_id))
    if was_running or base is state:
        b.begin_next_run()
    later = (
        later_runs_events(base_events, state.run_id, current_events, env.older_runs)
        if chained
        else []
    )
    spec = ResetSpec(
        namespace=command.namespace,
        namespace_id=command.namespace_id,
        base_run_id=base.run_id,
        new_run_id=new_run_id,
        request_id=req.request_id or new_run_id,
        reason=req.reason,
        finish_event_id=finish,
        reapply_signals=reapply,
    )
    try:
        write_reset_run(b, spec, base_events, later)
    except ResetPointError as exc:
        return reply_only(Reply.error(Code.INVALID_ARGUMENT, str(exc)))
    b.set_visibility(visibility_record(b.run))
    return b.finish(Reply.of(ResetWorkflowExecutionResponse(run_id=new_run_id)))
