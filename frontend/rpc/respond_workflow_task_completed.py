"""RespondWorkflowTaskCompleted: forwards a worker's commands to the workflow's history."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import (
    RespondWorkflowTaskCompletedRequest,
    RespondWorkflowTaskCompletedResponse,
)

from frontend import validation
from frontend.context import Call, Env, call_history, resolve_task_token


async def handle(
    env: Env, request: RespondWorkflowTaskCompletedRequest, call: Call
) -> RespondWorkflowTaskCompletedResponse:
    """Completes the task the token names; a stale token gets NOT_FOUND from history."""
    namespace, token = resolve_task_token(env, request)
    validation.validate_identity(request.identity, env.config.max_id_length)
    return await call_history(
        env, call, namespace.name, token.workflow_id, request, RespondWorkflowTaskCompletedResponse
    )
