"""CompleteWorkflowExecution: WorkflowExecutionCompleted with the workflow's result."""

from __future__ import annotations

from temporalio.api.command.v1 import Command as WorkflowCommand
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import WorkflowExecutionCompletedEventAttributes

from history_processor.commands.context import CommandContext, close_run


def handle(ctx: CommandContext, command: WorkflowCommand) -> None:
    """Closes the run as completed."""
    complete = command.complete_workflow_execution_command_attributes
    attrs = WorkflowExecutionCompletedEventAttributes(
        workflow_task_completed_event_id=ctx.completed_id
    )
    if complete.HasField("result"):
        attrs.result.CopyFrom(complete.result)
    close_run(ctx, command, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, attrs)
