"""ContinueAsNewWorkflowExecution: WorkflowExecutionContinuedAsNew, and the next run at once.

Temporal's handleCommandContinueAsNewWorkflow and AddContinueAsNewEvent: the command's
attributes are checked and defaulted from the closing run (workflow type, task queue,
timeouts), the close event names the new run, and the new run's WorkflowExecutionStarted
(initiator WORKFLOW, attempt 1, input, header, memo and search attributes as the command
gives them) is written in the same transaction (`DecisionBuilder.continue_with`).
"""

from __future__ import annotations

from temporalio.api.command.v1 import Command as WorkflowCommand
from temporalio.api.command.v1 import ContinueAsNewWorkflowExecutionCommandAttributes
from temporalio.api.common.v1 import WorkflowType
from temporalio.api.enums.v1 import ContinueAsNewInitiator, EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import WorkflowExecutionContinuedAsNewEventAttributes

from history_processor import events as ev
from history_processor.builder import DecisionBuilder
from history_processor.commands.context import CommandContext, CommandFailure, close_run
from history_processor.next_run import NextRun, start_next_run
from history_processor.state import ExecutionState, duration_ms
from schemas.visibility import validator

_CAUSE = WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CONTINUE_AS_NEW_ATTRIBUTES
_SA_CAUSE = WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES
_COMMAND = "ContinueAsNewWorkflowExecutionCommand"
MAX_WORKFLOW_TASK_TIMEOUT_MS = 120_000


def _timeouts(
    attrs: ContinueAsNewWorkflowExecutionCommandAttributes, run: ExecutionState
) -> tuple[int, int]:
    """(run, task) timeouts: the command's, else the closing run's, capped as Temporal does."""
    for name in ("workflow_run_timeout", "workflow_task_timeout", "backoff_start_interval"):
        if duration_ms(getattr(attrs, name)) < 0:
            raise CommandFailure(
                _CAUSE,
                f"Invalid {name} on {_COMMAND}: negative duration. "
                f"WorkflowType={attrs.workflow_type.name or run.workflow_type}",
            )
    run_timeout = duration_ms(attrs.workflow_run_timeout) or run.workflow_run_timeout_ms
    execution = run.workflow_execution_timeout_ms
    if execution:
        run_timeout = min(run_timeout, execution) if run_timeout else execution
    task = duration_ms(attrs.workflow_task_timeout) or run.workflow_task_timeout_ms
    task = min(task, MAX_WORKFLOW_TASK_TIMEOUT_MS)
    if run_timeout:
        task = min(task, run_timeout)
    return run_timeout, task


def handle(ctx: CommandContext, command: WorkflowCommand) -> None:
    """Closes the run as continued-as-new and has the next run started after it."""
    if not command.HasField("continue_as_new_workflow_execution_command_attributes"):
        raise CommandFailure(
            _CAUSE,
            "ContinueAsNewWorkflowExecutionCommandAttributes is not set on "
            "ContinueAsNewWorkflowExecutionCommand.",
        )
    attrs = command.continue_as_new_workflow_execution_command_attributes
    run = ctx.b.run
    run_timeout, task_timeout = _timeouts(attrs, run)
    search_attributes = None
    if attrs.search_attributes.indexed_fields:
        try:
            validator.validate(attrs.search_attributes, run.namespace, ctx.search_attributes)
        except validator.SearchAttributeError as err:
            raise CommandFailure(
                _SA_CAUSE, f"invalid SearchAttributes on {_COMMAND}: {err}"
            ) from None
        search_attributes = validator.annotate(
            attrs.search_attributes, ctx.search_attributes, drop_nil=True
        )
    env = ctx.b.env
    if env is None:
        raise RuntimeError("continue-as-new needs the handler's Env on the DecisionBuilder")
    new_run_id = env.new_id()
    workflow_type = attrs.workflow_type.name or run.workflow_type
    task_queue = attrs.task_queue.name or run.task_queue
    event_attrs = WorkflowExecutionContinuedAsNewEventAttributes(
        new_execution_run_id=new_run_id,
        workflow_type=WorkflowType(name=workflow_type),
        task_queue=ev.task_queue(task_queue),
        workflow_run_timeout=ev.duration(run_timeout),
        workflow_task_timeout=ev.duration(task_timeout),
        workflow_task_completed_event_id=ctx.completed_id,
        initiator=attrs.initiator,
        inherit_build_id=attrs.inherit_build_id,
    )
    for name in ("input", "header", "backoff_start_interval", "failure", "last_completion_result"):
        if attrs.HasField(name):
            getattr(event_attrs, name).CopyFrom(getattr(attrs, name))
    if attrs.memo.fields:
        event_attrs.memo.CopyFrom(attrs.memo)
    if search_attributes is not None and search_attributes.indexed_fields:
        event_attrs.search_attributes.CopyFrom(search_attributes)
    if not run.is_running:
        return
    close_run(ctx, command, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW, event_attrs)
    initiator = attrs.initiator or ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_WORKFLOW
    spec = NextRun(
        run_id=new_run_id,
        initiator=initiator,
        workflow_type=workflow_type,
        task_queue=task_queue,
        run_timeout_ms=run_timeout,
        task_timeout_ms=task_timeout,
        backoff_ms=duration_ms(attrs.backoff_start_interval),
        attempt=run.attempt + 1
        if initiator == ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_RETRY
        else 1,
        input=attrs.input if attrs.HasField("input") else None,
        header=attrs.header if attrs.HasField("header") else None,
        memo=event_attrs.memo if event_attrs.HasField("memo") else None,
        search_attributes=(
            event_attrs.search_attributes if event_attrs.HasField("search_attributes") else None
        ),
        retry_policy=attrs.retry_policy if attrs.HasField("retry_policy") else None,
        cron_schedule=attrs.cron_schedule,
        continued_failure=attrs.failure if attrs.HasField("failure") else None,
        last_completion_result=(
            attrs.last_completion_result if attrs.HasField("last_completion_result") else None
        ),
    )
    closing = ctx.b.run

    def start(b: DecisionBuilder) -> None:
        start_next_run(b, closing, spec)

    ctx.b.continue_with(start)
