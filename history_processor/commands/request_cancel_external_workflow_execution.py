"""RequestCancelExternalWorkflowExecution: RequestCancelExternalWorkflowExecutionInitiated, and
the cancel request sent to the target's shard (which answers with the result)."""

from __future__ import annotations

from temporalio.api.command.v1 import Command as WorkflowCommand
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import (
    RequestCancelExternalWorkflowExecutionInitiatedEventAttributes,
)

from history_processor import external
from history_processor.commands import pending
from history_processor.commands.context import CommandContext, CommandFailure
from history_processor.pending_limits import PENDING_CANCEL_REQUESTS
from schemas import inbox

_Enum = WorkflowTaskFailedCause
_BAD = _Enum.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_ATTRIBUTES


def handle(ctx: CommandContext, command: WorkflowCommand) -> None:
    """Writes the initiated event and sends the cancel request."""
    attrs = command.request_cancel_external_workflow_execution_command_attributes
    run = ctx.b.run
    if not attrs.workflow_id:
        raise CommandFailure(
            _BAD,
            "WorkflowId is not set on RequestCancelExternalWorkflowExecutionCommand. "
            f"Namespace={attrs.namespace} RunId={attrs.run_id}",
        )
    if attrs.namespace and attrs.namespace != run.namespace:
        raise CommandFailure(
            _BAD, f"Strom does not cancel workflows of another namespace ({attrs.namespace})."
        )
    pending.check(ctx.b, PENDING_CANCEL_REQUESTS)
    initiated = RequestCancelExternalWorkflowExecutionInitiatedEventAttributes(
        workflow_task_completed_event_id=ctx.completed_id,
        namespace=run.namespace,
        namespace_id=run.namespace_id,
        workflow_execution=WorkflowExecution(workflow_id=attrs.workflow_id, run_id=attrs.run_id),
        control=attrs.control,
        child_workflow_only=attrs.child_workflow_only,
        reason=attrs.reason,
    )
    external.initiate(
        ctx.b,
        command,
        EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
        initiated,
        inbox.CANCEL_EXTERNAL_WORKFLOW,
        initiated.workflow_execution,
        attrs.child_workflow_only,
        attrs.control,
        reason=attrs.reason,
    )
