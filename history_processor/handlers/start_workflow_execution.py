"""StartWorkflowExecution: a new run, its first workflow task, idempotent by request id."""

from __future__ import annotations

import json

from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.enums.v1 import (
    ContinueAsNewInitiator,
    EventType,
    WorkflowIdConflictPolicy,
    WorkflowIdReusePolicy,
)
from temporalio.api.errordetails.v1 import WorkflowExecutionAlreadyStartedFailure
from temporalio.api.history.v1 import WorkflowExecutionStartedEventAttributes
from temporalio.api.workflowservice.v1 import (
    StartWorkflowExecutionRequest,
    StartWorkflowExecutionResponse,
)

from history_processor import cron, eager_start
from history_processor import events as ev
from history_processor import updates as upd
from history_processor.builder import DecisionBuilder
from history_processor.closing import terminate
from history_processor.handling import IDENTITY_HISTORY_SERVICE, Env, reply_only
from history_processor.model import Command, Decision
from history_processor.outbox import visibility_record
from history_processor.state import ExecutionState, WorkflowStatus, duration_ms
from history_processor.workflow_tasks import schedule_workflow_task
from schemas.reply import Code, Reply
from schemas.visibility import validator

DEFAULT_WORKFLOW_TASK_TIMEOUT_MS = 10_000
MAX_WORKFLOW_TASK_TIMEOUT_MS = 120_000
TERMINATE_REASON = "TerminateIfRunning WorkflowIdReusePolicy"
"""Temporal's reason on a run a start terminates (TERMINATE_EXISTING, TERMINATE_IF_RUNNING)."""
_FAILED_STATUSES = (
    WorkflowStatus.FAILED,
    WorkflowStatus.CANCELED,
    WorkflowStatus.TERMINATED,
    WorkflowStatus.TIMED_OUT,
)


def validate(req: StartWorkflowExecutionRequest, workflow_id: str) -> Reply | None:
    if not req.request_id:
        return Reply.error(Code.INVALID_ARGUMENT, "Missing request ID.")
    if not workflow_id:
        return Reply.error(Code.INVALID_ARGUMENT, "WorkflowId is not set on request.")
    if not req.task_queue.name:
        return Reply.error(Code.INVALID_ARGUMENT, "Missing Taskqueue.")
    if not req.workflow_type.name:
        return Reply.error(Code.INVALID_ARGUMENT, "Missing WorkflowType.")
    for name in ("workflow_execution_timeout", "workflow_run_timeout", "workflow_task_timeout"):
        if duration_ms(getattr(req, name)) < 0:
            return Reply.error(Code.INVALID_ARGUMENT, f"invalid {name}: negative duration")
    if not cron.is_valid(req.cron_schedule):
        return Reply.error(Code.INVALID_ARGUMENT, "invalid CronSchedule.")
    return None


def _already_started(message: str, state: ExecutionState) -> Reply:
    return Reply.error(
        Code.ALREADY_EXISTS,
        message.format(workflow_id=state.workflow_id, run_id=state.run_id),
        WorkflowExecutionAlreadyStartedFailure(
            start_request_id=state.start_request_id,
            run_id=state.run_id,
            first_execution_run_id=state.first_execution_run_id,
        ),
    )


def resolve_existing(state: ExecutionState, req: StartWorkflowExecutionRequest) -> Reply | None:
    """Temporal's ResolveDuplicateWorkflowID; None means a new run may start."""
    reuse = req.workflow_id_reuse_policy
    conflict = req.workflow_id_conflict_policy
    if reuse == WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING:
        conflict = WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING
        reuse = WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
    if state.is_running:
        if conflict == WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING:
            return Reply.of(
                StartWorkflowExecutionResponse(
                    run_id=state.run_id, started=False, status=state.status.to_proto()
                )
            )
        if conflict == WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING:
            return None  # the caller terminates the running run (`replace_running`)
        return _already_started(
            "Workflow execution is already running. WorkflowId: {workflow_id}, RunId: {run_id}.",
            state,
        )
    if reuse == WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE:
        return _already_started(
            "Workflow execution already finished. WorkflowId: {workflow_id}, RunId: {run_id}. "
            "Workflow Id reuse policy: reject duplicate workflow Id.",
            state,
        )
    failed_only = WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY
    if reuse == failed_only and state.status not in _FAILED_STATUSES:
        return _already_started(
            "Workflow execution already finished successfully. WorkflowId: {workflow_id}, "
            "RunId: {run_id}. Workflow Id reuse policy: allow duplicate workflow Id if last run "
            "failed.",
            state,
        )
    return None


def terminates_running(state: ExecutionState, req: StartWorkflowExecutionRequest) -> bool:
    """Whether the start replaces the running run (TERMINATE_EXISTING, TERMINATE_IF_RUNNING)."""
    return state.is_running and (
        req.workflow_id_conflict_policy
        == WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING
        or req.workflow_id_reuse_policy
        == WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING
    )


def replace_running(b: DecisionBuilder, new_run_id: str) -> None:
    """Terminates the running run for a start that replaces it (Temporal's
    terminateWorkflowAction); what `b` emits next belongs to the new run."""
    details = Payloads(
        payloads=[
            Payload(
                metadata={"encoding": b"json/plain"},
                data=json.dumps(f"terminated by new runID: {new_run_id}").encode(),
            )
        ]
    )
    terminate(b, TERMINATE_REASON, details, IDENTITY_HISTORY_SERVICE)
    b.begin_next_run()


def _timeouts(req: StartWorkflowExecutionRequest) -> tuple[int, int, int]:
    """(execution, run, task) timeouts in ms, defaulted like Temporal's start override."""
    execution = duration_ms(req.workflow_execution_timeout)
    run = duration_ms(req.workflow_run_timeout)
    if execution:
        run = min(run, execution) if run else execution
    task = min(
        duration_ms(req.workflow_task_timeout) or DEFAULT_WORKFLOW_TASK_TIMEOUT_MS,
        MAX_WORKFLOW_TASK_TIMEOUT_MS,
    )
    if run:
        task = min(task, run)
    return execution, run, task


def _first_backoff_ms(req: StartWorkflowExecutionRequest, now_ms: int) -> int:
    """The start delay, or for a cron workflow the wait until its first fire time."""
    if req.cron_schedule:
        return cron.first_backoff_ms(req.cron_schedule, now_ms)
    return duration_ms(req.workflow_start_delay)


def _started_attributes(
    req: StartWorkflowExecutionRequest, workflow_id: str, run_id: str, env: Env
) -> WorkflowExecutionStartedEventAttributes:
    execution, run, task = _timeouts(req)
    attrs = WorkflowExecutionStartedEventAttributes(
        workflow_type=req.workflow_type,
        task_queue=ev.task_queue(req.task_queue.name),
        workflow_task_timeout=ev.duration(task),
        original_execution_run_id=run_id,
        identity=req.identity,
        first_execution_run_id=run_id,
        attempt=1,
        cron_schedule=req.cron_schedule,
        first_workflow_task_backoff=ev.duration(_first_backoff_ms(req, env.now_ms)),
        workflow_id=workflow_id,
        completion_callbacks=req.completion_callbacks,
    )
    for name in (
        "header",
        "input",
        "retry_policy",
        "memo",
        "priority",
        "last_completion_result",
        "continued_failure",
    ):
        if req.HasField(name):
            getattr(attrs, name).CopyFrom(getattr(req, name))
    if req.search_attributes.indexed_fields:
        # The frontend validated them; unset values are left out, types written in.
        annotated = validator.annotate(req.search_attributes, env.search_attributes, drop_nil=True)
        if annotated.indexed_fields:
            attrs.search_attributes.CopyFrom(annotated)
    if req.cron_schedule:
        # Temporal marks even the first run of a cron chain as started by the schedule.
        attrs.initiator = ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE
    if run:
        attrs.workflow_run_timeout.CopyFrom(ev.duration(run))
    if execution:
        attrs.workflow_execution_timeout.CopyFrom(ev.duration(execution))
        attrs.workflow_execution_expiration_time.FromMilliseconds(env.now_ms + execution)
    # Temporal denies eager execution to a run whose first workflow task waits.
    attrs.eager_execution_accepted = (
        req.request_eager_execution and _first_backoff_ms(req, env.now_ms) == 0
    )
    return attrs


def create_run(
    b: DecisionBuilder,
    command: Command,
    req: StartWorkflowExecutionRequest,
    workflow_id: str,
    env: Env,
    run_id: str = "",
) -> str:
    """Appends a new run's WorkflowExecutionStarted (and its identity); returns its run id
    (`run_id`, or a new one)."""
    run_id = run_id or env.new_id()
    started = ev.new_event(
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        env.now_ms,
        _started_attributes(req, workflow_id, run_id, env),
    )
    if req.HasField("user_metadata"):
        started.user_metadata.CopyFrom(req.user_metadata)
    started.links.extend(req.links)
    b.append(started)
    b.add_update(
        upd.ExecutionCreated(
            namespace=command.namespace,
            namespace_id=command.namespace_id,
            run_id=run_id,
            request_id=req.request_id,
        )
    )
    return run_id


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Starts a run (or answers a retried start with the run it created)."""
    req: StartWorkflowExecutionRequest = command.payload
    workflow_id = req.workflow_id or command.workflow_id
    invalid = validate(req, workflow_id)
    if invalid is not None:
        return reply_only(invalid)
    if state is not None:
        if req.request_id == state.start_request_id:
            response = StartWorkflowExecutionResponse(
                run_id=state.run_id,
                first_execution_run_id=state.first_execution_run_id,
                started=True,
                status=state.status.to_proto(),
            )
            if req.request_eager_execution:
                eager_start.retried(state, env, response)
            return reply_only(Reply.of(response))
        conflict = resolve_existing(state, req)
        if conflict is not None:
            return reply_only(conflict)
    b = DecisionBuilder(state, env.now_ms)
    run_id = env.new_id()
    if state is not None and terminates_running(state, req):
        replace_running(b, run_id)
    create_run(b, command, req, workflow_id, env, run_id)
    eager = b.events[0].workflow_execution_started_event_attributes.eager_execution_accepted
    if b.run.first_workflow_task_backoff_ms == 0:
        schedule_workflow_task(b, emit_task=not eager)
    b.set_visibility(visibility_record(b.run))
    response = StartWorkflowExecutionResponse(
        run_id=run_id,
        first_execution_run_id=run_id,
        started=True,
        status=WorkflowStatus.RUNNING.to_proto(),
    )
    if eager:
        eager_start.start(b, req, response)
    return b.finish(Reply.of(response))
