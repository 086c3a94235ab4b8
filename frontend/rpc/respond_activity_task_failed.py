"""RespondActivityTaskFailed: records a failed activity attempt."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import (
    RespondActivityTaskFailedRequest,
    RespondActivityTaskFailedResponse,
)

from frontend import validation
from frontend.context import Call, Env, call_history, resolve_task_token
from frontend.errors import invalid_argument


async def handle(
    env: Env, request: RespondActivityTaskFailedRequest, call: Call
) -> RespondActivityTaskFailedResponse:
    """Fails the activity attempt the token names; history decides on a retry."""
    namespace, token = resolve_task_token(env, request)
    if request.HasField("failure") and not request.failure.HasField("application_failure_info"):
        raise invalid_argument("Failure must have ApplicationFailureInfo.")
    if request.HasField("failure"):
        validation.validate_next_retry_delays(request.failure)
    validation.validate_identity(request.identity, env.config.max_id_length)
    return await call_history(
        env, call, namespace.name, token.workflow_id, request, RespondActivityTaskFailedResponse
    )
