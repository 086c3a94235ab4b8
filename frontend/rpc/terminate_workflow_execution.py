"""TerminateWorkflowExecution: ends an execution at once, recording who and why."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import (
    TerminateWorkflowExecutionRequest,
    TerminateWorkflowExecutionResponse,
)

from frontend import validation
from frontend.context import Call, Env, call_history, require_namespace

DEFAULT_REASON = "terminated by user via frontend"
DEFAULT_IDENTITY = "frontend-service"


async def handle(
    env: Env, request: TerminateWorkflowExecutionRequest, call: Call
) -> TerminateWorkflowExecutionResponse:
    """Terminates the execution; reason and identity get Temporal's defaults when empty."""
    require_namespace(env, request.namespace)
    execution = validation.validate_execution(request, "workflow_execution")
    # Temporal's defaults tell user terminations apart from system ones in the history.
    if not request.reason:
        request.reason = DEFAULT_REASON
    if not request.identity:
        request.identity = DEFAULT_IDENTITY
    await call_history(
        env,
        call,
        request.namespace,
        execution.workflow_id,
        request,
        TerminateWorkflowExecutionResponse,
    )
    return TerminateWorkflowExecutionResponse()
