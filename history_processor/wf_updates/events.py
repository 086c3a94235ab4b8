"""The fold of the workflow update events into mutable state (rows of `fold._EVENT_HANDLERS`)."""

from __future__ import annotations

from temporalio.api.history.v1 import HistoryEvent

from history_processor.exceptions import FoldError
from history_processor.state import ExecutionState, WorkflowUpdateInfo


def accepted(state: ExecutionState, event: HistoryEvent) -> None:
    """WorkflowExecutionUpdateAccepted: the update is in history from now on."""
    update_id = event.workflow_execution_update_accepted_event_attributes.protocol_instance_id
    state.workflow_updates[update_id] = WorkflowUpdateInfo(accepted_event_id=event.event_id)


def completed(state: ExecutionState, event: HistoryEvent) -> None:
    """WorkflowExecutionUpdateCompleted: the update's outcome is in this event."""
    attrs = event.workflow_execution_update_completed_event_attributes
    info = state.workflow_updates.get(attrs.meta.update_id)
    if info is None:
        raise FoldError(f"WorkflowExecutionUpdateCompleted {event.event_id} of no accepted update")
    info.completed_event_id = event.event_id
