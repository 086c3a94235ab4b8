"""Temporal's update protocol (protocol v1) between history and a worker: pure message handling.

Requests go out in ``PollWorkflowTaskQueueResponse.messages``; a worker answers in
``RespondWorkflowTaskCompleted.messages`` with an Acceptance (history writes
WorkflowExecutionUpdateAccepted), a Rejection (nothing is written) or a Response (history
writes WorkflowExecutionUpdateCompleted). A ``ProtocolMessage`` command places a message
among the other commands; messages no command references are handled after all commands,
in their order (Temporal's workflowTaskCompletedHandler).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from google.protobuf.any_pb2 import Any as AnyProto
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.failure.v1 import ApplicationFailureInfo, Failure
from temporalio.api.history.v1 import (
    WorkflowExecutionUpdateAcceptedEventAttributes,
    WorkflowExecutionUpdateCompletedEventAttributes,
)
from temporalio.api.protocol.v1 import Message
from temporalio.api.update.v1 import Acceptance, Outcome, Rejection, Request, Response
from temporalio.api.workflowservice.v1 import RespondWorkflowTaskCompletedRequest

from history_processor.builder import DecisionBuilder
from history_processor.commands.context import CommandFailure
from history_processor.model import Command, Decision

BAD_MESSAGE = (
    WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_UPDATE_WORKFLOW_EXECUTION_MESSAGE
)

_PREFIX = "type.googleapis.com/"
_ACCEPTANCE = _PREFIX + Acceptance.DESCRIPTOR.full_name
_REJECTION = _PREFIX + Rejection.DESCRIPTOR.full_name
_RESPONSE = _PREFIX + Response.DESCRIPTOR.full_name


def request_message_id(update_id: str) -> str:
    """The id of an update's request message (Temporal: ``<update id>/request``)."""
    return f"{update_id}/request"


def request_message(update_id: str, request: Request, started_event_id: int) -> Message:
    """The message that carries an update's request to the worker of a workflow task.

    Its sequencing event id is the one before the task's WorkflowTaskStarted: the worker
    applies the request after the events up to there (Temporal's registry.Send).
    """
    body = AnyProto()
    body.Pack(request)
    return Message(
        id=request_message_id(update_id),
        protocol_instance_id=update_id,
        event_id=started_event_id - 1,
        body=body,
    )


def server_failure(message: str, failure_type: str) -> Failure:
    """A non-retryable application failure with source "Server", as Temporal makes them."""
    return Failure(
        message=message,
        source="Server",
        application_failure_info=ApplicationFailureInfo(type=failure_type, non_retryable=True),
    )


def accepted_update_completed_workflow() -> Outcome:
    """The outcome of an accepted update whose run closed before it completed."""
    return Outcome(
        failure=server_failure(
            "Workflow Update failed because the Workflow completed before the Update completed.",
            "AcceptedUpdateCompletedWorkflow",
        )
    )


@dataclass
class ProtocolContext:
    """The update messages of one workflow task completion and what they did.

    Attributes:
        messages: The completion's messages by id, in their order; taken when handled.
        admitted: The run's admitted updates (the in-memory registry), update id -> request.
        handled: Ids of the updates an Acceptance, Rejection or Response handled.
        rejected: Update id -> rejection failure, for the updates rejected.
    """

    messages: dict[str, Message]
    admitted: Mapping[str, Request]
    handled: set[str] = field(default_factory=set)
    rejected: dict[str, Failure] = field(default_factory=dict)

    @classmethod
    def of(
        cls, req: RespondWorkflowTaskCompletedRequest, admitted: Mapping[str, Request]
    ) -> ProtocolContext:
        """The context of a completion request."""
        return cls(messages={m.id: m for m in req.messages}, admitted=admitted)

    def take(self, message_id: str) -> Message | None:
        """Removes and returns the message of this id (None if absent or taken)."""
        return self.messages.pop(message_id, None)

    def take_remaining(self) -> list[Message]:
        """Removes and returns the messages no command referenced, in order."""
        rest = list(self.messages.values())
        self.messages.clear()
        return rest


def handle_message(b: DecisionBuilder, protocol: ProtocolContext, msg: Message) -> None:
    """Applies one update message of a completion to the decision.

    Raises:
        CommandFailure: BAD_UPDATE_WORKFLOW_EXECUTION_MESSAGE for a message of another
            protocol, for an unknown update or one in the wrong state.
    """
    update_id = msg.protocol_instance_id
    type_url = msg.body.type_url
    if type_url == _ACCEPTANCE:
        acceptance = Acceptance()
        msg.body.Unpack(acceptance)
        _accept(b, protocol, update_id, acceptance)
    elif type_url == _REJECTION:
        rejection = Rejection()
        msg.body.Unpack(rejection)
        _known_request(protocol, update_id, rejection.rejected_request, b)
        protocol.rejected[update_id] = rejection.failure
        protocol.handled.add(update_id)
    elif type_url == _RESPONSE:
        response = Response()
        msg.body.Unpack(response)
        _respond(b, protocol, update_id, response)
    else:
        raise CommandFailure(BAD_MESSAGE, f"unsupported protocol type {type_url!r}")


def _known_request(
    protocol: ProtocolContext, update_id: str, carried: Request, b: DecisionBuilder
) -> Request:
    """The admitted update's request; one the message carries back resurrects a lost one."""
    if update_id in b.run.workflow_updates or update_id in protocol.handled:
        raise CommandFailure(
            BAD_MESSAGE, f"invalid state transition attempted for update {update_id}"
        )
    request = protocol.admitted.get(update_id)
    if request is not None:
        return request
    if carried.ByteSize():
        return carried
    raise CommandFailure(
        BAD_MESSAGE,
        f"update {update_id} wasn't found on the server. This is most likely a transient "
        "error which will be resolved automatically by retries",
    )


def _accept(
    b: DecisionBuilder, protocol: ProtocolContext, update_id: str, acceptance: Acceptance
) -> None:
    request = _known_request(protocol, update_id, acceptance.accepted_request, b)
    b.add_event(
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
        WorkflowExecutionUpdateAcceptedEventAttributes(
            protocol_instance_id=update_id,
            accepted_request_message_id=request_message_id(update_id),
            accepted_request_sequencing_event_id=acceptance.accepted_request_sequencing_event_id,
            accepted_request=request,
        ),
    )
    protocol.handled.add(update_id)


def _respond(
    b: DecisionBuilder, protocol: ProtocolContext, update_id: str, response: Response
) -> None:
    info = b.run.workflow_updates.get(update_id)
    if info is None or info.completed_event_id:
        raise CommandFailure(
            BAD_MESSAGE, f"invalid state transition attempted for update {update_id}"
        )
    b.add_event(
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
        WorkflowExecutionUpdateCompletedEventAttributes(
            meta=response.meta, accepted_event_id=info.accepted_event_id, outcome=response.outcome
        ),
    )
    protocol.handled.add(update_id)


def _bad_transition(update_id: str) -> CommandFailure:
    return CommandFailure(BAD_MESSAGE, f"invalid state transition attempted for update {update_id}")


def rejections(command: Command, decision: Decision) -> dict[str, Outcome]:
    """The updates a committed RespondWorkflowTaskCompleted rejected, with their outcomes.

    A rejection writes no event, so the waiting callers learn of it from the completion
    itself once it committed successfully.
    """
    if command.kind != "RespondWorkflowTaskCompleted" or decision.reply is None:
        return {}
    if not decision.reply.ok:
        return {}
    request: RespondWorkflowTaskCompletedRequest = command.payload
    outcomes = {}
    for msg in request.messages:
        if msg.body.type_url == _REJECTION:
            rejection = Rejection()
            msg.body.Unpack(rejection)
            outcomes[msg.protocol_instance_id] = Outcome(failure=rejection.failure)
    return outcomes


def is_rejection_only(req: RespondWorkflowTaskCompletedRequest) -> bool:
    """Whether a completion only rejects updates (no commands, no other messages)."""
    return not req.commands and all(m.body.type_url == _REJECTION for m in req.messages)
