"""Update-with-start's answers: both operations' results, or Temporal's MultiOperation error.

Temporal's history (service/history/api/multioperation) answers an ExecuteMultiOperation
with one response per operation, or with a MultiOperationExecution error that lists one
status per operation: the one that failed, OK for a start that stands, and
MultiOperationAborted ("Operation was aborted.") for one that never ran. Its gRPC code is
the code of the first operation that failed.
"""

from __future__ import annotations

import dataclasses

from google.protobuf import any_pb2
from temporalio.api.errordetails.v1 import MultiOperationExecutionFailure
from temporalio.api.failure.v1 import MultiOperationExecutionAborted
from temporalio.api.workflowservice.v1 import (
    ExecuteMultiOperationResponse,
    StartWorkflowExecutionResponse,
    UpdateWorkflowExecutionResponse,
)

from history_processor.model import Command
from history_processor.state import ExecutionState
from schemas.inbox import UpdateWithStart
from schemas.reply import Code, Reply

MSG_ABORTED = "Operation was aborted."
MSG_FAILED = "MultiOperation could not be executed."
ABORTED = Reply.error(Code.ABORTED, MSG_ABORTED, MultiOperationExecutionAborted())
"""The status of an operation that did not run because the other one failed."""
OK = Reply()
"""The status of a start that stands while the update failed."""


def failure(start: Reply, update: Reply) -> Reply:
    """Temporal's MultiOperationExecution error with the two operations' statuses."""
    detail = MultiOperationExecutionFailure()
    code: int | None = None
    for op in (start, update):
        if code is None and not op.ok and op is not ABORTED:
            code = op.status_code
        status = detail.statuses.add(code=int(op.status_code), message=op.message)
        if op.details_type:
            status.details.append(_packed(op))
    return Reply.error(Code(code if code is not None else Code.ABORTED), MSG_FAILED, detail)


def _packed(reply: Reply) -> any_pb2.Any:
    return any_pb2.Any(type_url="type.googleapis.com/" + reply.details_type, value=reply.details)


def start_response(state: ExecutionState, started: bool) -> StartWorkflowExecutionResponse:
    """The start operation's answer: the run the update went to."""
    return StartWorkflowExecutionResponse(
        run_id=state.run_id, started=started, status=state.status.to_proto()
    )


def wrap(command: Command, state: ExecutionState | None, update_reply: Reply) -> Reply:
    """Turns the update operation's reply into the multi-operation's.

    A start that this command made stands (its status is OK when the update fails); a start
    that found the running run was never made (aborted).
    """
    msg: UpdateWithStart = command.payload
    started = msg.started and state is not None and state.run_id == msg.run_id
    if not update_reply.ok:
        return failure(OK if started else ABORTED, update_reply)
    if state is None:  # an answered update always has its run
        return failure(ABORTED, Reply.error(Code.NOT_FOUND, "workflow execution not found"))
    update = UpdateWorkflowExecutionResponse.FromString(update_reply.payload)
    response = ExecuteMultiOperationResponse(
        responses=[
            ExecuteMultiOperationResponse.Response(start_workflow=start_response(state, started)),
            ExecuteMultiOperationResponse.Response(update_workflow=update),
        ]
    )
    return Reply.of(response)


def attached(command: Command, run: ExecutionState, started: bool) -> Command:
    """The waiting copy of the command: it remembers the run its update went to."""
    msg: UpdateWithStart = command.payload
    if msg.run_id:
        return command
    payload = dataclasses.replace(msg, run_id=run.run_id, started=started)
    return dataclasses.replace(command, payload=payload)
