"""SignalExternalWorkflowExecution: SignalExternalWorkflowExecutionInitiated, and the signal
sent to the target's shard (which answers with the result)."""

from __future__ import annotations

from temporalio.api.command.v1 import Command as WorkflowCommand
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import SignalExternalWorkflowExecutionInitiatedEventAttributes

from history_processor import external
from history_processor.commands import pending
from history_processor.commands.context import CommandContext, CommandFailure
from history_processor.pending_limits import PENDING_SIGNALS
from schemas import inbox

_BAD = WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SIGNAL_WORKFLOW_EXECUTION_ATTRIBUTES


def handle(ctx: CommandContext, command: WorkflowCommand) -> None:
    """Writes the initiated event and sends the signal."""
    attrs = command.signal_external_workflow_execution_command_attributes
    run = ctx.b.run
    target = attrs.execution
    if not target.workflow_id:
        raise CommandFailure(
            _BAD,
            "WorkflowId is not set on SignalExternalWorkflowExecutionCommand. "
            f"Namespace={attrs.namespace} RunId={target.run_id} SignalName={attrs.signal_name}",
        )
    if not attrs.signal_name:
        raise CommandFailure(
            _BAD,
            "SignalName is not set on SignalExternalWorkflowExecutionCommand. "
            f"WorkflowId={target.workflow_id} Namespace={attrs.namespace} RunId={target.run_id}",
        )
    if attrs.namespace and attrs.namespace != run.namespace:
        raise CommandFailure(
            _BAD, f"Strom does not signal workflows of another namespace ({attrs.namespace})."
        )
    pending.check(ctx.b, PENDING_SIGNALS)
    initiated = SignalExternalWorkflowExecutionInitiatedEventAttributes(
        workflow_task_completed_event_id=ctx.completed_id,
        namespace=run.namespace,
        namespace_id=run.namespace_id,
        workflow_execution=target,
        signal_name=attrs.signal_name,
        control=attrs.control,
        child_workflow_only=attrs.child_workflow_only,
    )
    for name in ("input", "header"):
        if attrs.HasField(name):
            getattr(initiated, name).CopyFrom(getattr(attrs, name))
    external.initiate(
        ctx.b,
        command,
        EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
        initiated,
        inbox.SIGNAL_EXTERNAL_WORKFLOW,
        target,
        attrs.child_workflow_only,
        attrs.control,
        signal_name=attrs.signal_name,
        input=attrs.input.SerializeToString() if attrs.HasField("input") else b"",
        header=attrs.header.SerializeToString() if attrs.HasField("header") else b"",
    )
