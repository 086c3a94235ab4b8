"""StartChildWorkflowExecution: StartChildWorkflowExecutionInitiated, and the start sent to the
child's shard."""

from __future__ import annotations

from temporalio.api.command.v1 import Command as WorkflowCommand
from temporalio.api.command.v1 import StartChildWorkflowExecutionCommandAttributes
from temporalio.api.enums.v1 import (
    EventType,
    ParentClosePolicy,
    WorkflowIdReusePolicy,
    WorkflowTaskFailedCause,
)
from temporalio.api.history.v1 import StartChildWorkflowExecutionInitiatedEventAttributes

from history_processor import events as ev
from history_processor import reach
from history_processor.commands import pending
from history_processor.commands.context import CommandContext, CommandFailure
from history_processor.pending_limits import PENDING_CHILD_WORKFLOWS
from history_processor.relatives import request_id
from history_processor.state import ExecutionState, duration_ms
from schemas import inbox

DEFAULT_WORKFLOW_TASK_TIMEOUT_MS = 10_000
MAX_WORKFLOW_TASK_TIMEOUT_MS = 120_000
_BAD = WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_CHILD_EXECUTION_ATTRIBUTES


def _validate(attrs: StartChildWorkflowExecutionCommandAttributes, run: ExecutionState) -> None:
    """Temporal's ValidateStartChildExecutionAttributes (the checks Strom can make)."""
    workflow_type, namespace = attrs.workflow_type.name, attrs.namespace
    if not attrs.workflow_id:
        raise CommandFailure(
            _BAD,
            "Required field WorkflowId is not set on StartChildWorkflowExecutionCommand. "
            f"WorkflowType={workflow_type} Namespace={namespace}",
        )
    if not workflow_type:
        raise CommandFailure(
            _BAD,
            "Required field WorkflowType is not set on StartChildWorkflowExecutionCommand. "
            f"WorkflowId={attrs.workflow_id} Namespace={namespace}",
        )
    if namespace and namespace != run.namespace:
        raise CommandFailure(
            _BAD,
            f"Strom does not start children in another namespace ({namespace}). "
            f"WorkflowId={attrs.workflow_id} WorkflowType={workflow_type}",
        )
    for name in ("workflow_execution_timeout", "workflow_run_timeout", "workflow_task_timeout"):
        if duration_ms(getattr(attrs, name)) < 0:
            raise CommandFailure(
                _BAD,
                f"Invalid {name} on StartChildWorkflowExecutionCommand: negative duration. "
                f"WorkflowId={attrs.workflow_id} WorkflowType={workflow_type}",
            )


def _timeouts(attrs: StartChildWorkflowExecutionCommandAttributes) -> tuple[int, int]:
    """(run, task) timeouts in ms: Temporal's overrideWorkflowRunTimeout / ...TaskTimeout."""
    execution = duration_ms(attrs.workflow_execution_timeout)
    run = duration_ms(attrs.workflow_run_timeout)
    if execution:
        run = min(run, execution) if run else execution
    task = min(
        duration_ms(attrs.workflow_task_timeout) or DEFAULT_WORKFLOW_TASK_TIMEOUT_MS,
        MAX_WORKFLOW_TASK_TIMEOUT_MS,
    )
    if run:
        task = min(task, run)
    return run, task


def initiated_attributes(
    attrs: StartChildWorkflowExecutionCommandAttributes, run: ExecutionState, completed_id: int
) -> StartChildWorkflowExecutionInitiatedEventAttributes:
    """The initiated event's attributes: the command with Temporal's defaults filled in."""
    run_timeout, task_timeout = _timeouts(attrs)
    out = StartChildWorkflowExecutionInitiatedEventAttributes(
        namespace=run.namespace,
        namespace_id=run.namespace_id,
        workflow_id=attrs.workflow_id,
        workflow_type=attrs.workflow_type,
        task_queue=ev.task_queue(attrs.task_queue.name or run.task_queue),
        workflow_run_timeout=ev.duration(run_timeout),
        workflow_task_timeout=ev.duration(task_timeout),
        parent_close_policy=(
            attrs.parent_close_policy or ParentClosePolicy.PARENT_CLOSE_POLICY_TERMINATE
        ),
        control=attrs.control,
        workflow_task_completed_event_id=completed_id,
        workflow_id_reuse_policy=(
            attrs.workflow_id_reuse_policy
            or WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
        ),
        cron_schedule=attrs.cron_schedule,
        inherit_build_id=attrs.inherit_build_id,
    )
    for name in (
        "input",
        "workflow_execution_timeout",
        "retry_policy",
        "header",
        "memo",
        "search_attributes",
        "priority",
    ):
        if attrs.HasField(name):
            getattr(out, name).CopyFrom(getattr(attrs, name))
    return out


def handle(ctx: CommandContext, command: WorkflowCommand) -> None:
    """Writes the initiated event and sends the start to the child's shard."""
    attrs = command.start_child_workflow_execution_command_attributes
    run = ctx.b.run
    _validate(attrs, run)
    pending.check(ctx.b, PENDING_CHILD_WORKFLOWS)
    initiated = initiated_attributes(attrs, run, ctx.completed_id)
    event = ev.new_event(
        EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED, ctx.b.now_ms, initiated
    )
    if command.HasField("user_metadata"):
        event.user_metadata.CopyFrom(command.user_metadata)
    ctx.b.append(event)
    root_workflow_id, root_run_id = reach.root_of(run)
    start = inbox.StartChildWorkflow(
        parent_namespace=run.namespace,
        parent_namespace_id=run.namespace_id,
        parent_workflow_id=run.workflow_id,
        parent_run_id=run.run_id,
        initiated_event_id=event.event_id,
        root_workflow_id=root_workflow_id,
        root_run_id=root_run_id,
        request_id=request_id(run.run_id, event.event_id),
        initiated=initiated.SerializeToString(),
        user_metadata=(
            command.user_metadata.SerializeToString() if command.HasField("user_metadata") else b""
        ),
    )
    reach.send(
        ctx.b,
        inbox.START_CHILD_WORKFLOW,
        run.namespace,
        attrs.workflow_id,
        f"{run.run_id}/{event.event_id}",
        start.to_bytes(),
    )
