"""SignalWorkflowExecution: validates and forwards a signal to the workflow's history shard."""

from __future__ import annotations

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import (
    SignalWorkflowExecutionRequest,
    SignalWorkflowExecutionResponse,
)

from frontend import validation
from frontend.context import Call, Env, call_history, require_namespace
from frontend.errors import invalid_argument

BLOB_TOO_LARGE = "Blob data size exceeds limit."


async def handle(
    env: Env, request: SignalWorkflowExecutionRequest, call: Call
) -> SignalWorkflowExecutionResponse:
    """Signals the run; a closed or unknown one gets NOT_FOUND from history."""
    require_namespace(env, request.namespace)
    execution = validate(request, env.config.max_id_length, env.config.blob_size_limit_error)
    return await call_history(
        env,
        call,
        request.namespace,
        execution.workflow_id,
        request,
        SignalWorkflowExecutionResponse,
    )


def validate(
    request: SignalWorkflowExecutionRequest, max_id: int, max_blob: int
) -> WorkflowExecution:
    """Temporal's frontend checks, in Temporal's order; returns the execution.

    The request id is not filled in when empty: such a signal is simply not deduplicated,
    as on Temporal.
    """
    execution = validation.validate_execution(request, "workflow_execution")
    if not request.signal_name:
        raise invalid_argument("SignalName is not set on request.")
    validation.validate_length(request.signal_name, max_id, "SignalName length exceeds limit.")
    validation.validate_length(request.request_id, max_id, "RequestId length exceeds limit.")
    if request.input.ByteSize() > max_blob:
        raise invalid_argument(BLOB_TOO_LARGE)
    return execution
