"""CompleteWorkflowExecution: WorkflowExecutionCompleted with the workflow's result."""

from __future__ import annotations

from temporalio.api.command.v1 import Command as WorkflowCommand
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import WorkflowExecutionCompletedEventAttributes

from history_processor.commands.context import CommandContext, close_run
from history_processor.workflow_retry import continue_after_close, cron_successor


def handle(ctx: CommandContext, command: WorkflowCommand) -> None:
    """Closes the run as completed."""
    complete = command.complete_workflow_execution_command_attributes
    attrs = WorkflowExecutionCompletedEventAttributes(
        workflow_task_completed_event_id=ctx.completed_id
    )
    if complete.HasField("result"):
        attrs.result.CopyFrom(complete.result)
    result = complete.result if complete.HasField("result") else None
    # A cron workflow's run is followed by the next run of its schedule.
    cron_run = None
    if ctx.b.run.is_running and not ctx.had_buffered:
        cron_run = cron_successor(ctx.b, None, result)
    if cron_run is not None:
        attrs.new_execution_run_id = cron_run.run_id
    close_run(ctx, command, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, attrs)
    if cron_run is not None and not ctx.b.run.is_running:
        continue_after_close(ctx.b, cron_run)
