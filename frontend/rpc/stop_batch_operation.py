"""StopBatchOperation: terminates the job's batch workflow, as Temporal does."""

from __future__ import annotations

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import (
    StopBatchOperationRequest,
    StopBatchOperationResponse,
    TerminateWorkflowExecutionRequest,
)

from frontend import batch
from frontend.context import Call, Env
from frontend.errors import invalid_argument
from frontend.rpc import terminate_workflow_execution


async def handle(
    env: Env, request: StopBatchOperationRequest, call: Call
) -> StopBatchOperationResponse:
    """Stops the job; an unknown or finished one is NOT_FOUND."""
    batch.require_job(env, request.namespace, request.job_id)
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
