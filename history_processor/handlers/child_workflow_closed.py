"""ChildWorkflowClosed (from the child's shard): the child's close event becomes
ChildWorkflowExecutionCompleted / Failed / Canceled / Terminated / TimedOut in the parent."""

from __future__ import annotations

from typing import Any

from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import (
    ChildWorkflowExecutionCanceledEventAttributes,
    ChildWorkflowExecutionCompletedEventAttributes,
    ChildWorkflowExecutionFailedEventAttributes,
    ChildWorkflowExecutionStartedEventAttributes,
    ChildWorkflowExecutionTerminatedEventAttributes,
    ChildWorkflowExecutionTimedOutEventAttributes,
    HistoryEvent,
)

from history_processor import reach
from history_processor.builder import DecisionBuilder
from history_processor.handling import Env
from history_processor.model import Command, Decision
from history_processor.relatives import ChildInfo
from history_processor.state import ExecutionState
from history_processor.workflow_tasks import schedule_workflow_task
from schemas import inbox

_E = EventType


def _outcome(close: HistoryEvent) -> tuple[Any, Any] | None:
    """(parent event type, its attributes with the child's outcome), None for a close that
    starts another run of the child (continue-as-new, retry, cron): Temporal reports the
    chain's last run only."""
    if close.event_type == _E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
        done = close.workflow_execution_completed_event_attributes
        if done.new_execution_run_id:
            return None
        attrs: Any = ChildWorkflowExecutionCompletedEventAttributes()
        if done.HasField("result"):
            attrs.result.CopyFrom(done.result)
        return _E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED, attrs
    if close.event_type == _E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
        failed = close.workflow_execution_failed_event_attributes
        if failed.new_execution_run_id:
            return None
        attrs = ChildWorkflowExecutionFailedEventAttributes(retry_state=failed.retry_state)
        if failed.HasField("failure"):
            attrs.failure.CopyFrom(failed.failure)
        return _E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED, attrs
    if close.event_type == _E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
        canceled = close.workflow_execution_canceled_event_attributes
        attrs = ChildWorkflowExecutionCanceledEventAttributes()
        if canceled.HasField("details"):
            attrs.details.CopyFrom(canceled.details)
        return _E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED, attrs
    if close.event_type == _E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
        return _E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED, (
            ChildWorkflowExecutionTerminatedEventAttributes()
        )
    if close.event_type == _E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
        timed_out = close.workflow_execution_timed_out_event_attributes
        if timed_out.new_execution_run_id:
            return None
        return _E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT, (
            ChildWorkflowExecutionTimedOutEventAttributes(retry_state=timed_out.retry_state)
        )
    return None


def _record_start(b: DecisionBuilder, child: ChildInfo, execution: WorkflowExecution) -> None:
    """A close reported before its start (not expected: both travel in order on one partition)
    gets its start written first, as Temporal's RecordChildExecutionCompleted does."""
    b.add_or_buffer(
        _E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED,
        ChildWorkflowExecutionStartedEventAttributes(
            namespace=child.namespace,
            namespace_id=child.namespace_id,
            initiated_event_id=child.initiated_event_id,
            workflow_execution=execution,
            workflow_type=WorkflowType(name=child.workflow_type),
        ),
    )


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Records how the child ended and schedules a workflow task; duplicates change nothing."""
    report: inbox.ChildReport = command.payload
    child = reach.pending_child(state, report)
    if child is None:
        return Decision(reply=reach.DONE)
    assert state is not None
    if reach.buffered_about(state, reach.CHILD_CLOSED, child.initiated_event_id):
        return Decision(reply=reach.DONE)
    outcome = _outcome(HistoryEvent.FromString(report.close_event))
    if outcome is None:
        return Decision(reply=reach.DONE)
    event_type, attrs = outcome
    execution = WorkflowExecution(workflow_id=report.child_workflow_id, run_id=report.child_run_id)
    b = DecisionBuilder(state, env.now_ms)
    if not reach.child_started_event_id(state, child):
        _record_start(b, child, execution)
    started_event_id = reach.child_started_event_id(b.run, b.run.children[child.initiated_event_id])
    attrs.namespace = child.namespace
    attrs.namespace_id = child.namespace_id
    attrs.workflow_execution.CopyFrom(execution)
    attrs.workflow_type.CopyFrom(WorkflowType(name=child.workflow_type))
    attrs.initiated_event_id = child.initiated_event_id
    attrs.started_event_id = started_event_id
    b.add_or_buffer(event_type, attrs)
    schedule_workflow_task(b)
    return b.finish(reach.DONE)
