"""Signal and cancel requests to another workflow: what their commands and their results share.

The requesting run writes an *Initiated event and sends the request to the target's shard
(`initiate`); the target's answer comes back as a result command that writes the success or
the failure event in the requesting run and schedules a workflow task (`record_result`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message
from temporalio.api.command.v1 import Command as WorkflowCommand
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType

from history_processor import events as ev
from history_processor import reach
from history_processor.builder import DecisionBuilder
from history_processor.handling import Env
from history_processor.model import Command, Decision
from history_processor.relatives import ExternalRequest, request_id
from history_processor.state import ExecutionState
from history_processor.workflow_tasks import schedule_workflow_task
from schemas import inbox


@dataclass(frozen=True)
class ResultEvents:
    """The two events a request's result writes, with their attribute messages.

    Attributes:
        succeeded: Event type of the success (ExternalWorkflowExecutionSignaled, ...).
        succeeded_attributes: Its attributes message.
        failed: Event type of the failure (SignalExternalWorkflowExecutionFailed, ...).
        failed_attributes: Its attributes message.
    """

    succeeded: EventType.ValueType
    succeeded_attributes: Callable[..., Message]
    failed: EventType.ValueType
    failed_attributes: Callable[..., Message]

    @property
    def types(self) -> tuple[EventType.ValueType, EventType.ValueType]:
        """Both event types, to find a result already buffered."""
        return (self.succeeded, self.failed)


def record_result(
    state: ExecutionState | None,
    command: Command,
    env: Env,
    pending: Callable[[ExecutionState], Mapping[int, ExternalRequest]],
    events: ResultEvents,
) -> Decision:
    """Records the result of a pending request; a new workflow task follows.

    A result for another run, a closed run, a request no longer pending or one whose result
    is already buffered changes nothing (the message may come twice).

    Args:
        state: The requesting run.
        command: The result command (its payload an `inbox.ExternalResult`).
        env: The handler's environment.
        pending: The run's pending requests of this kind, by initiated event id.
        events: The events the result writes.
    """
    result: inbox.ExternalResult = command.payload
    if state is None or state.run_id != result.source_run_id or not state.is_running:
        return Decision(reply=reach.DONE)
    request = pending(state).get(result.initiated_event_id)
    if request is None or reach.buffered_about(state, events.types, result.initiated_event_id):
        return Decision(reply=reach.DONE)
    common = {
        "initiated_event_id": request.initiated_event_id,
        "namespace": request.namespace,
        "namespace_id": request.namespace_id,
        "workflow_execution": WorkflowExecution(
            workflow_id=request.workflow_id, run_id=request.run_id
        ),
    }
    b = DecisionBuilder(state, env.now_ms)
    if result.failed_cause:
        attrs = events.failed_attributes(
            cause=result.failed_cause, control=request.control, **common
        )
        b.add_or_buffer(events.failed, attrs)
    else:
        attrs = events.succeeded_attributes(**common)
        # ExternalWorkflowExecutionSignaled echoes the control string; CancelRequested has none.
        if "control" in attrs.DESCRIPTOR.fields_by_name:
            attrs.control = request.control  # type: ignore[attr-defined]
        b.add_or_buffer(events.succeeded, attrs)
    schedule_workflow_task(b)
    return b.finish(reach.DONE)


def initiate(
    b: DecisionBuilder,
    command: WorkflowCommand,
    event_type: EventType.ValueType,
    initiated: Message,
    kind: str,
    target: WorkflowExecution,
    child_workflow_only: bool,
    control: str,
    **specific: Any,
) -> None:
    """Writes the *Initiated event of `command` and sends its request to the target's shard.

    Args:
        b: The decision of the requesting run.
        command: The workflow's command (its user metadata goes on the event).
        event_type: The *Initiated event's type.
        initiated: Its attributes.
        kind: The inbox kind of the request (`inbox.SIGNAL_EXTERNAL_WORKFLOW`, ...).
        target: The workflow (and run, if set) the request is for.
        child_workflow_only: The target must be the requester's child.
        control: The command's control string, echoed by the result.
        **specific: The request's fields of its kind (`inbox.ExternalRequest`: the signal's
            name, input and header, or the cancel's reason).
    """
    run = b.run
    event = ev.new_event(event_type, b.now_ms, initiated)
    if command.HasField("user_metadata"):
        event.user_metadata.CopyFrom(command.user_metadata)
    b.append(event)
    request = inbox.ExternalRequest(
        source_namespace=run.namespace,
        source_workflow_id=run.workflow_id,
        source_run_id=run.run_id,
        initiated_event_id=event.event_id,
        run_id=target.run_id,
        request_id=request_id(run.run_id, event.event_id),
        child_workflow_only=child_workflow_only,
        control=control,
        **specific,
    )
    reach.send(
        b,
        kind,
        run.namespace,
        target.workflow_id,
        f"{run.run_id}/{event.event_id}",
        request.to_bytes(),
    )
