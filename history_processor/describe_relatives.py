"""The parts of DescribeWorkflowExecution about other workflows: parent, root, pending children."""

from __future__ import annotations

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflow.v1 import PendingChildExecutionInfo
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionResponse

from history_processor import reach
from history_processor.state import ExecutionState


def add_relatives(state: ExecutionState, response: DescribeWorkflowExecutionResponse) -> None:
    """Fills in the parent, the root (the run itself for a workflow without parent, as Temporal
    reports it) and the children whose close the run has not recorded, in initiation order."""
    info = response.workflow_execution_info
    if state.parent is not None:
        info.parent_namespace_id = state.parent.namespace_id
        info.parent_execution.CopyFrom(
            WorkflowExecution(workflow_id=state.parent.workflow_id, run_id=state.parent.run_id)
        )
    root_workflow_id, root_run_id = reach.root_of(state)
    info.root_execution.CopyFrom(
        WorkflowExecution(workflow_id=root_workflow_id, run_id=root_run_id)
    )
    for child in sorted(state.children.values(), key=lambda c: c.initiated_event_id):
        response.pending_children.append(
            PendingChildExecutionInfo(
                workflow_id=child.workflow_id,
                run_id=child.run_id,
                workflow_type_name=child.workflow_type,
                initiated_id=child.initiated_event_id,
                parent_close_policy=child.parent_close_policy,  # type: ignore[arg-type]
            )
        )
