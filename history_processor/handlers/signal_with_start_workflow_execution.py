"""SignalWithStartWorkflowExecution: signal the running workflow, or start it with the signal.

One inbox command, one decision on the workflow's shard: the check for a running run and what
follows from it cannot interleave with another command, so start and signal are atomic.
"""

from __future__ import annotations

from temporalio.api.enums.v1 import WorkflowIdConflictPolicy, WorkflowIdReusePolicy
from temporalio.api.workflowservice.v1 import (
    SignalWithStartWorkflowExecutionRequest,
    SignalWithStartWorkflowExecutionResponse,
    StartWorkflowExecutionRequest,
)

from history_processor.builder import DecisionBuilder
from history_processor.handlers import start_workflow_execution as start
from history_processor.handlers.signal_workflow_execution import (
    add_signal,
    signal_link,
    signal_refusal,
    signal_requested,
)
from history_processor.handling import Env, reply_only
from history_processor.model import Command, Decision
from history_processor.outbox import visibility_record
from history_processor.state import ExecutionState
from history_processor.workflow_tasks import schedule_workflow_task
from schemas.reply import Reply

_CONFLICT = WorkflowIdConflictPolicy
# Fields a signal-with-start shares with a start (Temporal's ConvertToStartRequest).
_SCALARS = (
    "namespace",
    "workflow_id",
    "identity",
    "request_id",
    "workflow_id_reuse_policy",
    "workflow_id_conflict_policy",
    "cron_schedule",
)
_MESSAGES = (
    "workflow_type",
    "task_queue",
    "input",
    "workflow_execution_timeout",
    "workflow_run_timeout",
    "workflow_task_timeout",
    "retry_policy",
    "memo",
    "search_attributes",
    "header",
    "workflow_start_delay",
    "user_metadata",
    "priority",
)


def to_start_request(req: SignalWithStartWorkflowExecutionRequest) -> StartWorkflowExecutionRequest:
    """The start request the signal-with-start would make, for the start handler's helpers."""
    out = StartWorkflowExecutionRequest(links=req.links)
    for name in _SCALARS:
        setattr(out, name, getattr(req, name))
    for name in _MESSAGES:
        if req.HasField(name):  # type: ignore[arg-type]
            getattr(out, name).CopyFrom(getattr(req, name))
    return out


def _signals_existing(state: ExecutionState | None, req: StartWorkflowExecutionRequest) -> bool:
    """Temporal signals a running run unless the policies ask to replace it."""
    if state is None or not state.is_running:
        return False
    if req.workflow_id_reuse_policy == (
        WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING
    ):
        return False
    return req.workflow_id_conflict_policy not in (
        _CONFLICT.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING,
        _CONFLICT.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
    )


def _add_signal(b: DecisionBuilder, req: SignalWithStartWorkflowExecutionRequest) -> None:
    add_signal(
        b,
        req.signal_name,
        req.signal_input if req.HasField("signal_input") else None,
        req.identity,
        req.header if req.HasField("header") else None,
        req.request_id,
        req.links,
    )


def _response(
    command: Command,
    state: ExecutionState,
    req: SignalWithStartWorkflowExecutionRequest,
    started: bool,
) -> Reply:
    return Reply.of(
        SignalWithStartWorkflowExecutionResponse(
            run_id=state.run_id,
            first_execution_run_id=state.first_execution_run_id,
            started=started,
            signal_link=signal_link(
                command.namespace, state.workflow_id, state.run_id, req.request_id
            ),
        )
    )


def _signal(
    state: ExecutionState, command: Command, req: SignalWithStartWorkflowExecutionRequest, env: Env
) -> Decision:
    """Signals the running run (Temporal's signalWorkflow of signal-with-start)."""
    refusal = signal_refusal(state)
    if refusal is not None:
        return reply_only(refusal)
    if signal_requested(state, req.request_id):
        return reply_only(_response(command, state, req, started=False))
    b = DecisionBuilder(state, env.now_ms)
    _add_signal(b, req)
    # Unlike a plain signal, signal-with-start cuts a start delay short.
    schedule_workflow_task(b)
    return b.finish(_response(command, b.run, req, started=False))


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Signals the running run, or starts a new one whose first events carry the signal.

    A new run's history begins WorkflowExecutionStarted, WorkflowExecutionSignaled,
    WorkflowTaskScheduled (no task while a start delay runs). A closed run is replaced as the
    id reuse policy allows; the answers for a run that may not be replaced are the start's.
    """
    req: SignalWithStartWorkflowExecutionRequest = command.payload
    start_req = to_start_request(req)
    workflow_id = req.workflow_id or command.workflow_id
    invalid = start.validate(start_req, workflow_id)
    if invalid is not None:
        return reply_only(invalid)
    if state is not None and _signals_existing(state, start_req):
        return _signal(state, command, req, env)
    if state is not None:
        refused = start.resolve_existing(state, start_req)
        if refused is not None:
            return reply_only(refused)
    b = DecisionBuilder(state, env.now_ms)
    run_id = env.new_id()
    if state is not None and start.terminates_running(state, start_req):
        start.replace_running(b, run_id)
    start.create_run(b, command, start_req, workflow_id, env, run_id)
    _add_signal(b, req)
    if b.run.first_workflow_task_backoff_ms == 0:
        schedule_workflow_task(b)
    b.set_visibility(visibility_record(b.run))
    return b.finish(_response(command, b.run, req, started=True))
