"""Which run a request addresses: the workflow id's current run, or an older one by run id."""

from __future__ import annotations

from google.protobuf.message import DecodeError
from temporalio.api.workflowservice.v1 import QueryWorkflowRequest

from history_processor.model import Command
from schemas.inbox import GET_QUERY_TASK, QUERY_WORKFLOW

# Requests whose `execution` names a run; Temporal answers them for any run it keeps.
_BY_EXECUTION = (
    "GetWorkflowExecutionHistory",
    "GetWorkflowExecutionHistoryReverse",
    "DescribeWorkflowExecution",
)
# Requests whose `workflow_execution` names a run. They write to a running run only, and an
# older run is closed: Temporal answers them from its state (already completed; a cancel of
# a closed run succeeds and writes nothing).
_BY_WORKFLOW_EXECUTION = (
    "SignalWorkflowExecution",
    "RequestCancelWorkflowExecution",
    "TerminateWorkflowExecution",
)


def addressed_run_id(command: Command) -> str:
    """The run id a request names, or "" for the current run.

    Only requests that cannot change a closed run may be decided on an older run's state
    (reads, and requests that need a running run); every other command sees the current run.
    """
    payload = command.payload
    if command.kind in _BY_EXECUTION:
        return str(payload.execution.run_id)
    if command.kind in _BY_WORKFLOW_EXECUTION:
        if command.kind == "RequestCancelWorkflowExecution" and payload.first_execution_run_id:
            return ""  # Temporal then ignores the run id
        return str(payload.workflow_execution.run_id)
    if command.kind == GET_QUERY_TASK:
        return str(payload.run_id)
    if command.kind == QUERY_WORKFLOW:
        try:
            return QueryWorkflowRequest.FromString(payload.request).execution.run_id
        except DecodeError:
            return ""  # the handler answers the malformed request
    return ""
