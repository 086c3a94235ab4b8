"""StartChildWorkflowFailed (from the child's shard): StartChildWorkflowExecutionFailed in the
parent, e.g. WORKFLOW_ALREADY_EXISTS."""

from __future__ import annotations

from temporalio.api.common.v1 import WorkflowType
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import StartChildWorkflowExecutionFailedEventAttributes

from history_processor import reach
from history_processor.builder import DecisionBuilder
from history_processor.handling import Env
from history_processor.model import Command, Decision
from history_processor.state import ExecutionState
from history_processor.workflow_tasks import schedule_workflow_task
from schemas import inbox


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Records the failed start (Temporal's recordStartChildExecutionFailed); a new task follows."""
    report: inbox.ChildReport = command.payload
    child = reach.unstarted_child(state, report)
    if child is None or state is None:
        return Decision(reply=reach.DONE)
    b = DecisionBuilder(state, env.now_ms)
    attrs = StartChildWorkflowExecutionFailedEventAttributes(
        namespace=child.namespace,
        namespace_id=child.namespace_id,
        workflow_id=child.workflow_id,
        workflow_type=WorkflowType(name=child.workflow_type),
        cause=report.failed_cause,  # type: ignore[arg-type]
        initiated_event_id=child.initiated_event_id,
    )
    initiated = env.read_events(child.initiated_event_id, child.initiated_event_id + 1)
    if initiated:
        initiated_attrs = initiated[0].start_child_workflow_execution_initiated_event_attributes
        attrs.control = initiated_attrs.control
    b.add_or_buffer(EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED, attrs)
    schedule_workflow_task(b)
    return b.finish(reach.DONE)
