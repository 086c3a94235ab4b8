"""UpsertWorkflowSearchAttributes: the event, merged into the run's search attributes.

Checked like Temporal's handleCommandUpsertWorkflowSearchAttributes: names and values against
the namespace's attributes (a bad one fails the workflow task, BAD_SEARCH_ATTRIBUTES), then the
sizes (too large terminates the run). ``workflow.patched`` sends one of these for
TemporalChangeVersion along with its marker.
"""

from __future__ import annotations

from temporalio.api.command.v1 import Command as WorkflowCommand
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import UpsertWorkflowSearchAttributesEventAttributes

from history_processor import events as ev
from history_processor.commands.context import CommandContext, CommandFailure
from history_processor.commands.limits import BLOB_SIZE_LIMIT_ERROR
from history_processor.workflow_properties import merged_search_attributes
from schemas.visibility import validator

_CAUSE = WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES
_COMMAND = "UpsertWorkflowSearchAttributesCommand"


def handle(ctx: CommandContext, command: WorkflowCommand) -> None:
    """Validates the attributes and writes UpsertWorkflowSearchAttributes (types annotated)."""
    if not command.HasField("upsert_workflow_search_attributes_command_attributes"):
        raise CommandFailure(
            _CAUSE, f"UpsertWorkflowSearchAttributesCommandAttributes is not set on {_COMMAND}."
        )
    attrs = command.upsert_workflow_search_attributes_command_attributes
    if not attrs.HasField("search_attributes"):
        raise CommandFailure(_CAUSE, f"SearchAttributes is not set on {_COMMAND}.")
    fields = attrs.search_attributes.indexed_fields
    if not fields:
        raise CommandFailure(_CAUSE, f"IndexedFields is not set on {_COMMAND}.")
    state = ctx.b.run
    try:
        validator.validate(attrs.search_attributes, state.namespace, ctx.search_attributes)
    except validator.SearchAttributeError as err:
        raise CommandFailure(_CAUSE, str(err)) from None
    size = sum(len(name.encode()) + len(payload.data) for name, payload in fields.items())
    if size > BLOB_SIZE_LIMIT_ERROR:
        raise CommandFailure(
            _CAUSE,
            "UpsertWorkflowSearchAttributesCommandAttributes exceeds size limit.",
            terminate_workflow=True,
        )
    try:
        validator.validate_size(merged_search_attributes(state, attrs.search_attributes))
    except validator.SearchAttributeError as err:
        raise CommandFailure(_CAUSE, str(err), terminate_workflow=True) from None
    event_attrs = UpsertWorkflowSearchAttributesEventAttributes(
        workflow_task_completed_event_id=ctx.completed_id,
        search_attributes=validator.annotate(
            attrs.search_attributes, ctx.search_attributes, drop_nil=False
        ),
    )
    event = ev.new_event(
        EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, ctx.b.now_ms, event_attrs
    )
    if command.HasField("user_metadata"):
        event.user_metadata.CopyFrom(command.user_metadata)
    ctx.b.append(event)
