"""The fold of the events about other workflows: children, external signals and cancels."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from history_processor.relatives import ChildInfo, ExternalRequest
from history_processor.state import ExecutionState

CHILD_CLOSED = (
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
)


def _attrs(event: HistoryEvent) -> Any:
    return getattr(event, str(event.WhichOneof("attributes")))


def _child_initiated(state: ExecutionState, event: HistoryEvent) -> None:
    attrs = event.start_child_workflow_execution_initiated_event_attributes
    state.children[event.event_id] = ChildInfo(
        initiated_event_id=event.event_id,
        namespace=attrs.namespace,
        namespace_id=attrs.namespace_id,
        workflow_id=attrs.workflow_id,
        workflow_type=attrs.workflow_type.name,
        parent_close_policy=attrs.parent_close_policy,
    )


def _child_started(state: ExecutionState, event: HistoryEvent) -> None:
    attrs = event.child_workflow_execution_started_event_attributes
    child = state.children.get(attrs.initiated_event_id)
    if child is not None:
        child.run_id = attrs.workflow_execution.run_id
        child.started_event_id = event.event_id


def _child_gone(state: ExecutionState, event: HistoryEvent) -> None:
    state.children.pop(int(_attrs(event).initiated_event_id), None)


def _external_request(event: HistoryEvent) -> ExternalRequest:
    attrs = _attrs(event)
    return ExternalRequest(
        initiated_event_id=event.event_id,
        namespace=attrs.namespace,
        namespace_id=attrs.namespace_id,
        workflow_id=attrs.workflow_execution.workflow_id,
        run_id=attrs.workflow_execution.run_id,
        control=attrs.control,
    )


def _signal_initiated(state: ExecutionState, event: HistoryEvent) -> None:
    state.external_signals[event.event_id] = _external_request(event)


def _signal_done(state: ExecutionState, event: HistoryEvent) -> None:
    state.external_signals.pop(int(_attrs(event).initiated_event_id), None)


def _cancel_initiated(state: ExecutionState, event: HistoryEvent) -> None:
    state.external_cancels[event.event_id] = _external_request(event)


def _cancel_done(state: ExecutionState, event: HistoryEvent) -> None:
    state.external_cancels.pop(int(_attrs(event).initiated_event_id), None)


RELATIVE_EVENT_HANDLERS: dict[Any, Callable[[ExecutionState, HistoryEvent], None]] = {
    EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED: _child_initiated,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED: _child_started,
    EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED: _child_gone,
    **dict.fromkeys(CHILD_CLOSED, _child_gone),
    EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: _signal_initiated,
    EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED: _signal_done,
    EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED: _signal_done,
    EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: _cancel_initiated,
    EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED: _cancel_done,
    EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED: _cancel_done,
}
"""Event type -> fold function; one row in `fold._EVENT_HANDLERS` spreads it in."""
