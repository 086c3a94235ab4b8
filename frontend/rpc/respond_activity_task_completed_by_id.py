"""RespondActivityTaskCompletedById: completes an activity named by workflow and activity id."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import (
    RespondActivityTaskCompletedByIdRequest,
    RespondActivityTaskCompletedByIdResponse,
    RespondActivityTaskCompletedResponse,
)

from frontend.by_id import check_by_id_request, fail_oversized
from frontend.context import Call, Env, call_history
from frontend.rpc.respond_activity_task_completed import RESULT_TOO_LARGE


async def handle(
    env: Env, request: RespondActivityTaskCompletedByIdRequest, call: Call
) -> RespondActivityTaskCompletedByIdResponse:
    """Completes the activity (started or not: history records the start if needed).

    A result above the blob size limit fails the activity with a non-retryable server
    failure instead, as Temporal does.
    """
    namespace = check_by_id_request(env, request)
    if request.result.ByteSize() > env.config.blob_size_limit_error:
        await fail_oversized(env, call, namespace, request, RESULT_TOO_LARGE)
    else:
        await call_history(
            env,
            call,
            namespace.name,
            request.workflow_id,
            request,
            RespondActivityTaskCompletedResponse,
        )
    return RespondActivityTaskCompletedByIdResponse()
