"""RespondActivityTaskCompleted: records an activity result, or fails an oversized one."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import (
    RespondActivityTaskCompletedRequest,
    RespondActivityTaskCompletedResponse,
    RespondActivityTaskFailedRequest,
    RespondActivityTaskFailedResponse,
)

from frontend import validation
from frontend.by_id import server_failure
from frontend.context import Call, Env, call_history, resolve_task_token

RESULT_TOO_LARGE = "Complete result exceeds size limit."


async def handle(
    env: Env, request: RespondActivityTaskCompletedRequest, call: Call
) -> RespondActivityTaskCompletedResponse:
    """Completes the activity attempt the token names.

    A result above the blob size limit is recorded as a non-retryable server failure
    instead, as Temporal does, so one oversized payload cannot bloat the history.
    """
    namespace, token = resolve_task_token(env, request)
    validation.validate_identity(request.identity, env.config.max_id_length)
    if request.result.ByteSize() > env.config.blob_size_limit_error:
        failed = RespondActivityTaskFailedRequest(
            task_token=request.task_token,
            namespace=request.namespace,
            identity=request.identity,
            failure=server_failure(RESULT_TOO_LARGE),
        )
        await call_history(
            env,
            call,
            namespace.name,
            token.workflow_id,
            failed,
            RespondActivityTaskFailedResponse,
            kind="RespondActivityTaskFailed",
        )
    else:
        await call_history(
            env,
            call,
            namespace.name,
            token.workflow_id,
            request,
            RespondActivityTaskCompletedResponse,
        )
    return RespondActivityTaskCompletedResponse()
