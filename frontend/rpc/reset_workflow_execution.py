"""ResetWorkflowExecution: starts a new run from a run's history at a workflow task."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import (
    ResetWorkflowExecutionRequest,
    ResetWorkflowExecutionResponse,
)

from frontend import validation
from frontend.context import Call, Env, call_history, require_namespace


async def handle(
    env: Env, request: ResetWorkflowExecutionRequest, call: Call
) -> ResetWorkflowExecutionResponse:
    """Resets the run; history checks the reset point and answers with the new run's id.

    An empty request id gets a fresh one (as for a start): the new run records it, so a
    retry of the same request returns the same run.
    """
    require_namespace(env, request.namespace)
    execution = validation.validate_execution(request, "workflow_execution")
    validation.ensure_request_id(request, env.config.max_id_length)
    return await call_history(
        env,
        call,
        request.namespace,
        execution.workflow_id,
        request,
        ResetWorkflowExecutionResponse,
    )
