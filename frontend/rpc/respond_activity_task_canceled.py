"""RespondActivityTaskCanceled: records that a worker ended an attempt the workflow canceled."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import (
    RespondActivityTaskCanceledRequest,
    RespondActivityTaskCanceledResponse,
    RespondActivityTaskFailedRequest,
    RespondActivityTaskFailedResponse,
)

from frontend import validation
from frontend.by_id import server_failure
from frontend.context import Call, Env, call_history, resolve_task_token

DETAILS_TOO_LARGE = "Cancel details exceed size limit."


async def handle(
    env: Env, request: RespondActivityTaskCanceledRequest, call: Call
) -> RespondActivityTaskCanceledResponse:
    """Cancels the activity attempt the token names.

    Details above the blob size limit fail the attempt with a non-retryable server failure
    instead, as Temporal does.
    """
    namespace, token = resolve_task_token(env, request)
    validation.validate_identity(request.identity, env.config.max_id_length)
    if request.details.ByteSize() > env.config.blob_size_limit_error:
        failed = RespondActivityTaskFailedRequest(
            task_token=request.task_token,
            namespace=request.namespace,
            identity=request.identity,
            failure=server_failure(DETAILS_TOO_LARGE),
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
            RespondActivityTaskCanceledResponse,
        )
    return RespondActivityTaskCanceledResponse()
