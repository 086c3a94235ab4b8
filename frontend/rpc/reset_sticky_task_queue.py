"""ResetStickyTaskQueue: the run's next workflow task goes to its normal queue."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import (
    ResetStickyTaskQueueRequest,
    ResetStickyTaskQueueResponse,
)

from frontend import validation
from frontend.context import Call, Env, call_history, require_namespace


async def handle(
    env: Env, request: ResetStickyTaskQueueRequest, call: Call
) -> ResetStickyTaskQueueResponse:
    """Clears the run's sticky queue in history; a closed run is NOT_FOUND."""
    require_namespace(env, request.namespace)
    execution = validation.validate_execution(request, "execution")
    await call_history(
        env,
        call,
        request.namespace,
        execution.workflow_id,
        request,
        ResetStickyTaskQueueResponse,
    )
    return ResetStickyTaskQueueResponse()
