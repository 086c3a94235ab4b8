"""QueryWorkflow (from the frontend): where a query goes, or wait for a workflow task to answer it.

Temporal's history QueryWorkflow (service/history/api/queryworkflow), decided on the run's
state and never writing an event:

- Rejected by ``query_reject_condition`` (NOT_OPEN: the run is closed; NOT_COMPLETED_CLEANLY:
  closed other than completed): an OK reply whose response holds ``query_rejected``.
- A run closed before any workflow task completed, or whose first task will not be
  scheduled before the caller's deadline, or whose task keeps failing (attempt >= 3): Temporal's
  WorkflowNotReady (FAILED_PRECONDITION).
- Safe to send straight to a worker (a task completed before, and the run is closed or has no
  workflow task scheduled or started, so the worker's state already holds every event): the
  reply is a `QueryDispatch` naming the sticky queue (tried first) and the normal queue.
- Otherwise the query must wait for the next workflow task (Temporal's consistent query): the
  decision has no reply and the processor keeps the command in memory
  (`history_processor.queries`). A started task carries it in ``queries``; the worker's answer
  in RespondWorkflowTaskCompleted.query_results completes it; if that completion schedules no
  new task, the query is decided again and now goes straight to the worker. Temporal buffers
  one query per run (history.MaxBufferedQueryCount); a second one is RESOURCE_EXHAUSTED.

A query decided again after a commit (its id is among ``env.queries``) skips the checks
Temporal makes only on arrival.
"""

from __future__ import annotations

from google.protobuf.message import DecodeError
from temporalio.api.enums.v1 import (
    QueryRejectCondition,
    ResourceExhaustedCause,
    ResourceExhaustedScope,
    WorkflowExecutionStatus,
)
from temporalio.api.errordetails.v1 import (
    NotFoundFailure,
    ResourceExhaustedFailure,
    WorkflowNotReadyFailure,
)
from temporalio.api.query.v1 import QueryRejected
from temporalio.api.workflowservice.v1 import QueryWorkflowResponse

from history_processor import updates as upd
from history_processor.builder import DecisionBuilder
from history_processor.handling import (
    MSG_WORKFLOW_COMPLETED,
    Env,
    reply_only,
    workflow_not_found,
)
from history_processor.model import Command, Decision
from history_processor.state import ExecutionState
from schemas.inbox import QueryWorkflow
from schemas.queries import QueryDispatch
from schemas.reply import Code, Reply

MAX_BUFFERED_QUERIES = 1
"""Queries one run may hold waiting for a workflow task (history.MaxBufferedQueryCount)."""
FAIL_QUERY_ATTEMPT = 3
"""From this workflow task attempt on, queries fail fast (failQueryWorkflowTaskAttemptCount)."""

MSG_CLOSED_BEFORE_STARTED = "Workflow execution closed before WorkflowTaskStarted event"
MSG_TASK_NOT_SCHEDULED = "Workflow task is not scheduled yet."
MSG_TASK_FAILING = "Unable to query workflow due to Workflow Task in failed state."
MSG_BUFFER_FULL = (
    "consistent query buffer is full, this may be caused by too many queries and workflow "
    "not able to process query fast enough"
)


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Answers where the query goes, rejects it, or leaves it waiting (no reply)."""
    msg: QueryWorkflow = command.payload
    try:
        request = msg.query_request()
    except DecodeError:
        return reply_only(Reply.error(Code.INVALID_ARGUMENT, "malformed QueryWorkflow request"))
    if state is None:
        return reply_only(_not_found(workflow_not_found(command.workflow_id).message))
    run_id = request.execution.run_id
    if run_id and run_id != state.run_id:
        return reply_only(_not_found(MSG_WORKFLOW_COMPLETED))
    waiting = command.command_id in env.queries
    if not waiting:
        early = _arrival_checks(state, request.query_reject_condition, msg.deadline_ms)
        if early is not None:
            return reply_only(early)
    if not state.is_running and state.last_completed_wft_started_event_id == 0:
        return reply_only(_not_ready(MSG_CLOSED_BEFORE_STARTED))
    if safe_to_dispatch(state):
        return _dispatch(state, msg, env)
    if not waiting and len(env.queries) >= MAX_BUFFERED_QUERIES:
        return reply_only(_buffer_full())
    return Decision(reply=None)


def safe_to_dispatch(state: ExecutionState) -> bool:
    """Whether a worker may answer at once: it has seen every event (Temporal's
    safeToDispatchDirectly, for a run that completed a workflow task)."""
    return state.last_completed_wft_started_event_id > 0 and (
        not state.is_running or state.workflow_task is None
    )


def _arrival_checks(
    state: ExecutionState, condition: QueryRejectCondition.ValueType, deadline_ms: int
) -> Reply | None:
    status = state.status.to_proto()
    if not state.is_running and _rejects(condition, status):
        response = QueryWorkflowResponse(query_rejected=QueryRejected(status=status))
        return Reply(payload=QueryDispatch.answered(response).to_bytes())
    if not state.is_running and state.last_completed_wft_started_event_id == 0:
        return _not_ready(MSG_CLOSED_BEFORE_STARTED)
    had_task = state.workflow_task is not None or state.last_completed_wft_started_event_id > 0
    first_task_at = state.start_time_ms + state.first_workflow_task_backoff_ms
    if not had_task and first_task_at > deadline_ms:
        return _not_ready(MSG_TASK_NOT_SCHEDULED)
    if state.workflow_task_attempt >= FAIL_QUERY_ATTEMPT:
        return _not_ready(MSG_TASK_FAILING)
    return None


def _rejects(
    condition: QueryRejectCondition.ValueType, status: WorkflowExecutionStatus.ValueType
) -> bool:
    if condition == QueryRejectCondition.QUERY_REJECT_CONDITION_NOT_OPEN:
        return True
    return (
        condition == QueryRejectCondition.QUERY_REJECT_CONDITION_NOT_COMPLETED_CLEANLY
        and status != WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED
    )


def _dispatch(state: ExecutionState, msg: QueryWorkflow, env: Env) -> Decision:
    """Where the frontend sends the query; after a sticky miss, the sticky queue is reset."""
    b = DecisionBuilder(state, env.now_ms)
    sticky = state.sticky_task_queue
    if msg.sticky_failed and sticky:
        sticky = ""
        if state.is_running:
            # Temporal's ResetStickyTaskQueue: later workflow tasks go to the normal queue.
            b.add_update(upd.Sticky())
    dispatch = QueryDispatch(
        run_id=state.run_id,
        task_queue=state.task_queue,
        sticky_queue=sticky,
        sticky_timeout_ms=state.sticky_schedule_to_start_timeout_ms if sticky else 0,
    )
    return b.finish(Reply(payload=dispatch.to_bytes()))


def _not_ready(message: str) -> Reply:
    return Reply.error(Code.FAILED_PRECONDITION, message, WorkflowNotReadyFailure())


def _buffer_full() -> Reply:
    return Reply.error(
        Code.RESOURCE_EXHAUSTED,
        MSG_BUFFER_FULL,
        ResourceExhaustedFailure(
            cause=ResourceExhaustedCause.RESOURCE_EXHAUSTED_CAUSE_BUSY_WORKFLOW,
            scope=ResourceExhaustedScope.RESOURCE_EXHAUSTED_SCOPE_NAMESPACE,
        ),
    )


def _not_found(message: str) -> Reply:
    """NOT_FOUND with Temporal's NotFoundFailure detail."""
    return Reply.error(Code.NOT_FOUND, message, NotFoundFailure())
