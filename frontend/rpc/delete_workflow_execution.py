"""DeleteWorkflowExecution: removes a run (terminating it first if it runs)."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import (
    DeleteWorkflowExecutionRequest,
    DeleteWorkflowExecutionResponse,
)

from frontend import validation
from frontend.context import Call, Env, call_history, require_namespace
from schemas.namespaces import State
from schemas.retention import history_name


async def handle(
    env: Env, request: DeleteWorkflowExecutionRequest, call: Call
) -> DeleteWorkflowExecutionResponse:
    """Deletes the run; an unknown workflow gets NOT_FOUND from history.

    A deleted namespace is accepted too (Temporal's frontend refuses it): Strom's internal
    worker removes its runs through this RPC, under the name they were stored with.
    """
    namespace = require_namespace(env, request.namespace, tuple(State))
    execution = validation.validate_execution(request, "workflow_execution")
    return await call_history(
        env,
        call,
        history_name(namespace),
        execution.workflow_id,
        request,
        DeleteWorkflowExecutionResponse,
    )
