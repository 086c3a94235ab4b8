"""RecordMarker: MarkerRecorded, the SDKs' record of side effects, patches and local activities.

The server does not read a marker: its name and details are the SDK's (``core_patch``,
``core_local_activity``, Go's ``SideEffect`` / ``Version``, ...). It only checks the name and the
size, as Temporal's handleCommandRecordMarker does.
"""

from __future__ import annotations

from temporalio.api.command.v1 import Command as WorkflowCommand
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import MarkerRecordedEventAttributes

from history_processor import events as ev
from history_processor.commands.context import CommandContext, CommandFailure
from history_processor.commands.limits import BLOB_SIZE_LIMIT_ERROR, MAX_ID_LENGTH

_CAUSE = WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_RECORD_MARKER_ATTRIBUTES


def handle(ctx: CommandContext, command: WorkflowCommand) -> None:
    """Writes MarkerRecorded with the marker's name, details, header and failure."""
    if not command.HasField("record_marker_command_attributes"):
        raise CommandFailure(
            _CAUSE, "RecordMarkerCommandAttributes is not set on RecordMarkerCommand."
        )
    attrs = command.record_marker_command_attributes
    name = attrs.marker_name
    if not name:
        raise CommandFailure(_CAUSE, "MarkerName is not set on RecordMarkerCommand.")
    length = len(name.encode())
    if length > MAX_ID_LENGTH:
        raise CommandFailure(
            _CAUSE,
            "MarkerName on RecordMarkerCommand exceeds length limit. "
            f"MarkerName={name} Length={length} Limit={MAX_ID_LENGTH}",
        )
    details_size = sum(len(key.encode()) + value.ByteSize() for key, value in attrs.details.items())
    if details_size > BLOB_SIZE_LIMIT_ERROR:
        raise CommandFailure(
            _CAUSE,
            "RecordMarkerCommandAttributes.Details exceeds size limit.",
            terminate_workflow=True,
        )
    event_attrs = MarkerRecordedEventAttributes(
        marker_name=name, workflow_task_completed_event_id=ctx.completed_id
    )
    for key, value in attrs.details.items():
        event_attrs.details[key].CopyFrom(value)
    for field in ("header", "failure"):
        if attrs.HasField(field):
            getattr(event_attrs, field).CopyFrom(getattr(attrs, field))
    event = ev.new_event(EventType.EVENT_TYPE_MARKER_RECORDED, ctx.b.now_ms, event_attrs)
    if command.HasField("user_metadata"):
        event.user_metadata.CopyFrom(command.user_metadata)
    ctx.b.append(event)
