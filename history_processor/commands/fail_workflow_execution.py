"""FailWorkflowExecution: WorkflowExecutionFailed with the failure and its retry state; a run
whose retry policy allows another attempt is followed by its retry, else a cron workflow by
its next cron run (`workflow_retry`)."""

from __future__ import annotations

from temporalio.api.command.v1 import Command as WorkflowCommand
from temporalio.api.enums.v1 import ContinueAsNewInitiator, EventType, RetryState
from temporalio.api.history.v1 import WorkflowExecutionFailedEventAttributes

from history_processor.commands.context import CommandContext, close_run
from history_processor.workflow_retry import (
    continue_after_close,
    cron_successor,
    retry_backoff,
    successor_from_start,
)


def handle(ctx: CommandContext, command: WorkflowCommand) -> None:
    """Closes the run as failed, and has its retry started if the policy allows one."""
    fail = command.fail_workflow_execution_command_attributes
    failure = fail.failure if fail.HasField("failure") else None
    retry_state, backoff_ms = retry_backoff(ctx.b.run, failure, ctx.b.now_ms)
    retrying = retry_state == RetryState.RETRY_STATE_IN_PROGRESS and ctx.b.env is not None
    attrs = WorkflowExecutionFailedEventAttributes(
        workflow_task_completed_event_id=ctx.completed_id,
        retry_state=retry_state,  # type: ignore[arg-type]
    )
    if failure is not None:
        attrs.failure.CopyFrom(failure)
    spec = None
    if ctx.b.run.is_running and not ctx.had_buffered:
        if retrying:
            assert ctx.b.env is not None
            retry = ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_RETRY
            spec = successor_from_start(ctx.b, ctx.b.env.new_id(), retry, backoff_ms, failure)
        else:
            spec = cron_successor(ctx.b, failure, None)
    if spec is not None:
        attrs.new_execution_run_id = spec.run_id
    close_run(ctx, command, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED, attrs)
    if spec is not None and not ctx.b.run.is_running:
        continue_after_close(ctx.b, spec)
