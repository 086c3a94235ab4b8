"""ChildWorkflowStarted (from the child's shard): ChildWorkflowExecutionStarted in the parent."""

from __future__ import annotations

from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import ChildWorkflowExecutionStartedEventAttributes

from history_processor import reach
from history_processor.builder import DecisionBuilder
from history_processor.handling import Env
from history_processor.model import Command, Decision
from history_processor.state import ExecutionState
from history_processor.workflow_tasks import schedule_workflow_task
from schemas import inbox


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Records the start (Temporal's recordChildExecutionStarted) and schedules a workflow task.

    Ignored when the parent run is gone or closed, or the start is already recorded: a
    duplicate report changes nothing.
    """
    report: inbox.ChildReport = command.payload
    child = reach.unstarted_child(state, report)
    if child is None or state is None:
        return Decision(reply=reach.DONE)
    b = DecisionBuilder(state, env.now_ms)
    attrs = ChildWorkflowExecutionStartedEventAttributes(
        namespace=child.namespace,
        namespace_id=child.namespace_id,
        initiated_event_id=child.initiated_event_id,
        workflow_execution=WorkflowExecution(
            workflow_id=report.child_workflow_id, run_id=report.child_run_id
        ),
        workflow_type=WorkflowType(name=child.workflow_type),
    )
    initiated = env.read_events(child.initiated_event_id, child.initiated_event_id + 1)
    if initiated:
        header = initiated[0].start_child_workflow_execution_initiated_event_attributes.header
        attrs.header.CopyFrom(header)
    b.add_or_buffer(EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED, attrs)
    schedule_workflow_task(b)
    return b.finish(reach.DONE)
