"""The golden driver's part for markers, memo and search attributes, eager start and workflow
task heartbeats: the commands and requests behind such events."""

from __future__ import annotations

from temporalio.api.command.v1 import (
    Command,
    ModifyWorkflowPropertiesCommandAttributes,
    RecordMarkerCommandAttributes,
    UpsertWorkflowSearchAttributesCommandAttributes,
)
from temporalio.api.enums.v1 import CommandType, EventType
from temporalio.api.history.v1 import History, HistoryEvent

from schemas.visibility import attributes as sa
from schemas.visibility.attributes import ValueType


def marker_command(event: HistoryEvent, completed_id: int) -> Command | None:
    """The command the SDK sent for a marker, memo or search attribute event of a completion."""
    kind = event.event_type
    if kind == EventType.EVENT_TYPE_MARKER_RECORDED:
        m = event.marker_recorded_event_attributes
        if m.workflow_task_completed_event_id != completed_id:
            return None
        attrs = RecordMarkerCommandAttributes(marker_name=m.marker_name)
        for key, value in m.details.items():
            attrs.details[key].CopyFrom(value)
        for name in ("header", "failure"):
            if m.HasField(name):
                getattr(attrs, name).CopyFrom(getattr(m, name))
        return Command(
            command_type=CommandType.COMMAND_TYPE_RECORD_MARKER,
            record_marker_command_attributes=attrs,
        )
    if kind == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
        u = event.upsert_workflow_search_attributes_event_attributes
        if u.workflow_task_completed_event_id != completed_id:
            return None
        return Command(
            command_type=CommandType.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
            upsert_workflow_search_attributes_command_attributes=(
                UpsertWorkflowSearchAttributesCommandAttributes(
                    search_attributes=u.search_attributes
                )
            ),
        )
    if kind == EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED:
        p = event.workflow_properties_modified_event_attributes
        if p.workflow_task_completed_event_id != completed_id:
            return None
        return Command(
            command_type=CommandType.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES,
            modify_workflow_properties_command_attributes=(
                ModifyWorkflowPropertiesCommandAttributes(upserted_memo=p.upserted_memo)
            ),
        )
    return None


def forced_new_task(golden: History, completed: HistoryEvent) -> bool:
    """Whether a completion asked for a new workflow task (a heartbeat): its command events
    are followed at once by WorkflowTaskScheduled, with nothing that would have caused one."""
    index = next(i for i, e in enumerate(golden.events) if e.event_id == completed.event_id)
    for event in golden.events[index + 1 :]:
        attrs = getattr(event, str(event.WhichOneof("attributes")))
        if getattr(attrs, "workflow_task_completed_event_id", 0) == completed.event_id:
            continue
        return event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED
    return False


def custom_attributes(golden: History) -> dict[str, ValueType]:
    """The custom search attributes a golden run used, with the types its payloads carry."""
    out: dict[str, ValueType] = {}
    for event in golden.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            fields = event.workflow_execution_started_event_attributes.search_attributes
        elif event.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes
        else:
            continue
        for name, payload in fields.indexed_fields.items():
            type_name = payload.metadata.get("type", b"").decode()
            if name not in sa.PREDEFINED and type_name:
                out[name] = ValueType.from_name(type_name)
    return out
