"""DeleteWorkflowExecution: removes a run (terminating it first if it runs)."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import (
    DeleteWorkflowExecutionRequest,
    DeleteWorkflowExecutionResponse,
)

from frontend import validation
from frontend.context import Call, Env, call_history, require_namespace


async def handle(
    env: Env, request: DeleteWorkflowExecutionRequest, call: Call
) -> DeleteWorkflowExecutionResponse:
    """Deletes the run; an unknown workflow gets NOT_FOUND from history."""
    require_namespace(env, request.namespace)
    execution = validation.validate_execution(request, "workflow_execution")
    return await call_history(
        env,
        call,
        request.namespace,
        execution.workflow_id,
        request,
        DeleteWorkflowExecutionResponse,
    )
