"""StopBatchOperation: terminates the job's batch workflow, as Temporal does."""

from __future__ import annotations

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import (
    StopBatchOperationRequest,
    StopBatchOperationResponse,
    TerminateWorkflowExecutionRequest,
)

from frontend.context import Call, Env, require_namespace
from frontend.errors import invalid_argument
from frontend.rpc import terminate_workflow_execution


async def handle(
    env: Env, request: StopBatchOperationRequest, call: Call
) -> StopBatchOperationResponse:
    """Stops the job; an unknown or finished one is NOT_FOUND."""
    if request.namespace:
        # Temporal's namespace interceptor answers an unknown namespace before the handler.
        require_namespace(env, request.namespace)
    if not request.job_id:
        raise invalid_argument("JobId is not set on request.")
    if not request.namespace:
        raise invalid_argument("Namespace is not set on request.")
    if not request.reason:
        raise invalid_argument("Reason is not set on request.")
    await terminate_workflow_execution.handle(
        env,
        TerminateWorkflowExecutionRequest(
            namespace=request.namespace,
            workflow_execution=WorkflowExecution(workflow_id=request.job_id),
            reason=request.reason,
            identity=request.identity,
        ),
        Call("TerminateWorkflowExecution", call.deadline),
    )
    return StopBatchOperationResponse()
