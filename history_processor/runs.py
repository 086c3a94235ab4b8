"""Which run a read addresses: the workflow id's current run, or an older one by its run id."""

from __future__ import annotations

from google.protobuf.message import DecodeError
from temporalio.api.workflowservice.v1 import QueryWorkflowRequest

from history_processor.model import Command
from schemas.inbox import GET_QUERY_TASK, QUERY_WORKFLOW

# Reads whose request names a run in `execution` (Temporal answers them for any run it keeps).
_BY_EXECUTION = (
    "GetWorkflowExecutionHistory",
    "GetWorkflowExecutionHistoryReverse",
    "DescribeWorkflowExecution",
)


def addressed_run_id(command: Command) -> str:
    """The run id a read names, or "" for the current run (and for every command that writes).

    Only reads may be decided on an older run's state: a closed run never changes again, so
    a command that could write must see the current run (which then answers that an older
    run is completed, as Temporal does).
    """
    if command.kind in _BY_EXECUTION:
        return str(command.payload.execution.run_id)
    if command.kind == GET_QUERY_TASK:
        return str(command.payload.run_id)
    if command.kind == QUERY_WORKFLOW:
        try:
            return QueryWorkflowRequest.FromString(command.payload.request).execution.run_id
        except DecodeError:
            return ""  # the handler answers the malformed request
    return ""
