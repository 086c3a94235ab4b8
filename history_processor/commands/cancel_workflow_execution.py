"""CancelWorkflowExecution: WorkflowExecutionCanceled with the workflow's details."""

from __future__ import annotations

from temporalio.api.command.v1 import Command as WorkflowCommand
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import WorkflowExecutionCanceledEventAttributes

from history_processor.commands.context import CommandContext, CommandFailure, close_run

MSG_ATTRIBUTES_NOT_SET = (
    "CancelWorkflowExecutionCommandAttributes is not set on CancelWorkflowExecutionCommand."
)


def handle(ctx: CommandContext, command: WorkflowCommand) -> None:
    """Closes the run as canceled (the workflow's answer to a cancel request, or its choice).

    Raises:
        CommandFailure: BAD_CANCEL_WORKFLOW_EXECUTION_ATTRIBUTES for a command without
            attributes; UNHANDLED_COMMAND (from `close_run`) when events arrived meanwhile.
    """
    # Temporal checks for unseen events before it looks at the attributes.
    if not ctx.had_buffered and not command.HasField(
        "cancel_workflow_execution_command_attributes"
    ):
        raise CommandFailure(
            WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_WORKFLOW_EXECUTION_ATTRIBUTES,
            MSG_ATTRIBUTES_NOT_SET,
        )
    cancel = command.cancel_workflow_execution_command_attributes
    attrs = WorkflowExecutionCanceledEventAttributes(
        workflow_task_completed_event_id=ctx.completed_id
    )
    if cancel.HasField("details"):
        attrs.details.CopyFrom(cancel.details)
    close_run(ctx, command, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED, attrs)
