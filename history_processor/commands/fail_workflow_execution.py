"""FailWorkflowExecution: WorkflowExecutionFailed with the failure and its retry state."""

from __future__ import annotations

from temporalio.api.command.v1 import Command as WorkflowCommand
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import WorkflowExecutionFailedEventAttributes

from history_processor.closing import workflow_retry_state
from history_processor.commands.context import CommandContext, close_run


def handle(ctx: CommandContext, command: WorkflowCommand) -> None:
    """Closes the run as failed."""
    fail = command.fail_workflow_execution_command_attributes
    attrs = WorkflowExecutionFailedEventAttributes(
        workflow_task_completed_event_id=ctx.completed_id,
        retry_state=workflow_retry_state(ctx.b.run, fail.failure),  # type: ignore[arg-type]
    )
    if fail.HasField("failure"):
        attrs.failure.CopyFrom(fail.failure)
    close_run(ctx, command, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED, attrs)
