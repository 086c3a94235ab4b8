"""RequestCancelWorkflowExecution: asks a workflow to cancel, through its history shard."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import (
    RequestCancelWorkflowExecutionRequest,
    RequestCancelWorkflowExecutionResponse,
)

from frontend import validation
from frontend.context import Call, Env, call_history, require_namespace


async def handle(
    env: Env, request: RequestCancelWorkflowExecutionRequest, call: Call
) -> RequestCancelWorkflowExecutionResponse:
    """Requests cancellation; repeating it, or asking a closed run, is a quiet success."""
    require_namespace(env, request.namespace)
    # Temporal checks only the execution here: request id, identity and reason go unchecked.
    execution = validation.validate_execution(request, "workflow_execution")
    return await call_history(
        env,
        call,
        request.namespace,
        execution.workflow_id,
        request,
        RequestCancelWorkflowExecutionResponse,
    )
