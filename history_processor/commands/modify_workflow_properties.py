"""ModifyWorkflowProperties: WorkflowPropertiesModified, the memo upsert (``workflow.upsert_memo``).

Checked like Temporal's handleCommandModifyWorkflowProperties: a missing memo fails the
workflow task (BAD_MODIFY_WORKFLOW_PROPERTIES_ATTRIBUTES), a memo over the size limits
terminates the run. Null values remove their keys when the event is folded.
"""

from __future__ import annotations

from temporalio.api.command.v1 import Command as WorkflowCommand
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import WorkflowPropertiesModifiedEventAttributes

from history_processor import events as ev
from history_processor.commands.context import CommandContext, CommandFailure
from history_processor.commands.limits import BLOB_SIZE_LIMIT_ERROR, MEMO_SIZE_LIMIT_ERROR
from history_processor.workflow_properties import merged_memo

_CAUSE = (
    WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_MODIFY_WORKFLOW_PROPERTIES_ATTRIBUTES
)
_COMMAND = "ModifyWorkflowPropertiesCommand"


def handle(ctx: CommandContext, command: WorkflowCommand) -> None:
    """Writes WorkflowPropertiesModified with the upserted memo."""
    if not command.HasField("modify_workflow_properties_command_attributes"):
        raise CommandFailure(
            _CAUSE, f"ModifyWorkflowPropertiesCommandAttributes is not set on {_COMMAND}."
        )
    attrs = command.modify_workflow_properties_command_attributes
    if not attrs.HasField("upserted_memo"):
        raise CommandFailure(_CAUSE, f"UpsertedMemo is not set on {_COMMAND}.")
    fields = attrs.upserted_memo.fields
    if not fields:
        raise CommandFailure(_CAUSE, f"UpsertedMemo.Fields is not set on {_COMMAND}.")
    size = sum(len(key.encode()) + len(payload.data) for key, payload in fields.items())
    if size > BLOB_SIZE_LIMIT_ERROR:
        raise CommandFailure(
            _CAUSE,
            "ModifyWorkflowPropertiesCommandAttributes exceeds size limit.",
            terminate_workflow=True,
        )
    if merged_memo(ctx.b.run, attrs.upserted_memo).ByteSize() > MEMO_SIZE_LIMIT_ERROR:
        raise CommandFailure(
            _CAUSE,
            "ModifyWorkflowPropertiesCommandAttributes. Memo exceeds size limit.",
            terminate_workflow=True,
        )
    event_attrs = WorkflowPropertiesModifiedEventAttributes(
        workflow_task_completed_event_id=ctx.completed_id, upserted_memo=attrs.upserted_memo
    )
    event = ev.new_event(
        EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED, ctx.b.now_ms, event_attrs
    )
    if command.HasField("user_metadata"):
        event.user_metadata.CopyFrom(command.user_metadata)
    ctx.b.append(event)
