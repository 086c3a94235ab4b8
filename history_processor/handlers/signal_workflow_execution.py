"""SignalWorkflowExecution: WorkflowExecutionSignaled, deduplicated by request id."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.api.common.v1 import Header, Link, Payloads
from temporalio.api.enums.v1 import EventType, ResourceExhaustedCause, ResourceExhaustedScope
from temporalio.api.errordetails.v1 import ResourceExhaustedFailure
from temporalio.api.history.v1 import HistoryEvent, WorkflowExecutionSignaledEventAttributes
from temporalio.api.workflowservice.v1 import (
    SignalWorkflowExecutionRequest,
    SignalWorkflowExecutionResponse,
)

from history_processor.builder import DecisionBuilder
from history_processor.handling import (
    MSG_WORKFLOW_COMPLETED,
    Env,
    not_found,
    reply_only,
    run_not_found,
    workflow_not_found,
)
from history_processor.model import Command, Decision
from history_processor.state import ExecutionState
from history_processor.workflow_tasks import schedule_workflow_task
from schemas.reply import Code, Reply

MAX_SIGNALS_PER_EXECUTION = 10_000
"""Temporal's history.maximumSignalsPerExecution default."""
MSG_SIGNALS_LIMIT = "exceeded workflow execution limit for signal events"
MSG_WORKFLOW_CLOSING = "workflow operation can not be applied because workflow is closing"

_SIGNALED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED


def _buffered_signals(state: ExecutionState) -> list[WorkflowExecutionSignaledEventAttributes]:
    """Signals waiting in the buffer: Temporal counts them at once, the fold only once written."""
    out = []
    for raw in state.buffered_events:
        event = HistoryEvent.FromString(raw)
        if event.event_type == _SIGNALED:
            out.append(event.workflow_execution_signaled_event_attributes)
    return out


def signal_requested(state: ExecutionState, request_id: str) -> bool:
    """True if a signal with this request id reached the run (Temporal's IsSignalRequested)."""
    if not request_id:
        return False
    if request_id in state.signal_request_ids:
        return True
    return any(s.request_id == request_id for s in _buffered_signals(state))


def workflow_closing_error(state: ExecutionState) -> Reply | None:
    """Temporal's ErrWorkflowClosing, while the retry of a close refused for new events runs.

    A workflow task that tried to close the run failed with UNHANDLED_COMMAND; while its retry
    is started, more signals would only make it fail again, so they are refused as retryable.
    """
    task = state.workflow_task
    if state.close_attempted and task is not None and task.is_started:
        return Reply.error(
            Code.RESOURCE_EXHAUSTED,
            MSG_WORKFLOW_CLOSING,
            ResourceExhaustedFailure(
                cause=ResourceExhaustedCause.RESOURCE_EXHAUSTED_CAUSE_BUSY_WORKFLOW,
                scope=ResourceExhaustedScope.RESOURCE_EXHAUSTED_SCOPE_NAMESPACE,
            ),
        )
    return None


def signal_limit_error(state: ExecutionState) -> Reply | None:
    """Temporal's ValidateSignal count check: INVALID_ARGUMENT once the run has too many."""
    if state.signal_count + len(_buffered_signals(state)) >= MAX_SIGNALS_PER_EXECUTION:
        return Reply.error(Code.INVALID_ARGUMENT, MSG_SIGNALS_LIMIT)
    return None


def signal_refusal(state: ExecutionState) -> Reply | None:
    """Temporal's ValidateSignal on a running run: the signal count, then a closing run."""
    return signal_limit_error(state) or workflow_closing_error(state)


def add_signal(
    b: DecisionBuilder,
    signal_name: str,
    payloads: Payloads | None,
    identity: str,
    header: Header | None,
    request_id: str,
    links: Sequence[Link] = (),
) -> None:
    """Adds WorkflowExecutionSignaled, buffered while a workflow task is started."""
    attrs = WorkflowExecutionSignaledEventAttributes(
        signal_name=signal_name, identity=identity, request_id=request_id
    )
    if payloads is not None:
        attrs.input.CopyFrom(payloads)
    if header is not None:
        attrs.header.CopyFrom(header)
    b.add_or_buffer(_SIGNALED, attrs, links=links)


def pending_on_backoff(state: ExecutionState) -> bool:
    """True while a start delay holds back the first workflow task (no task may be made)."""
    return state.first_workflow_task_backoff_ms > 0 and not state.first_workflow_task_scheduled


def signal_link(namespace: str, workflow_id: str, run_id: str, request_id: str) -> Link:
    """The link Temporal returns to the signal's event (by request id)."""
    return Link(
        workflow_event=Link.WorkflowEvent(
            namespace=namespace,
            workflow_id=workflow_id,
            run_id=run_id,
            request_id_ref=Link.WorkflowEvent.RequestIdReference(
                request_id=request_id, event_type=_SIGNALED
            ),
        )
    )


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Signals the run the request names (the current run if it names none).

    A retry (same request id) answers success and writes nothing. A signal makes a workflow
    task unless one is pending or a start delay holds the first one back; while a task is
    started the event waits in the buffer and a new task follows the completion.
    """
    req: SignalWorkflowExecutionRequest = command.payload
    run_id = req.workflow_execution.run_id
    if state is None:
        if run_id:
            return reply_only(run_not_found(command.workflow_id, run_id))
        return reply_only(workflow_not_found(command.workflow_id))
    if run_id and run_id != state.run_id:
        return reply_only(run_not_found(command.workflow_id, run_id))
    response = SignalWorkflowExecutionResponse(
        link=signal_link(command.namespace, state.workflow_id, state.run_id, req.request_id)
    )
    if signal_requested(state, req.request_id):
        return reply_only(Reply.of(response))
    if not state.is_running:
        return reply_only(not_found(MSG_WORKFLOW_COMPLETED))
    refusal = signal_refusal(state)
    if refusal is not None:
        return reply_only(refusal)
    b = DecisionBuilder(state, env.now_ms)
    add_signal(
        b,
        req.signal_name,
        req.input if req.HasField("input") else None,
        req.identity,
        req.header if req.HasField("header") else None,
        req.request_id,
        req.links,
    )
    if not pending_on_backoff(state):
        schedule_workflow_task(b)
    return b.finish(Reply.of(response))
