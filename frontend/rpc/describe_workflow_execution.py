"""DescribeWorkflowExecution: the state of one execution, from its history process."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    DescribeWorkflowExecutionResponse,
)

from frontend import validation
from frontend.context import Call, Env, call_history, require_namespace


async def handle(
    env: Env, request: DescribeWorkflowExecutionRequest, call: Call
) -> DescribeWorkflowExecutionResponse:
    """Describes the execution; an unknown one gets NOT_FOUND from history."""
    require_namespace(env, request.namespace)
    execution = validation.validate_execution(request, "execution")
    return await call_history(
        env,
        call,
        request.namespace,
        execution.workflow_id,
        request,
        DescribeWorkflowExecutionResponse,
    )
