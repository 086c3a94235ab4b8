"""RespondActivityTaskCanceledById: cancels an activity named by workflow and activity id."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import (
    RespondActivityTaskCanceledByIdRequest,
    RespondActivityTaskCanceledByIdResponse,
    RespondActivityTaskCanceledResponse,
)

from frontend.by_id import check_by_id_request, fail_oversized
from frontend.context import Call, Env, call_history
from frontend.rpc.respond_activity_task_canceled import DETAILS_TOO_LARGE


async def handle(
    env: Env, request: RespondActivityTaskCanceledByIdRequest, call: Call
) -> RespondActivityTaskCanceledByIdResponse:
    """Ends the activity's running attempt as canceled.

    Details above the blob size limit fail the activity with a non-retryable server failure
    instead, as Temporal does.
    """
    namespace = check_by_id_request(env, request)
    if request.details.ByteSize() > env.config.blob_size_limit_error:
        await fail_oversized(env, call, namespace, request, DETAILS_TOO_LARGE)
    else:
        await call_history(
            env,
            call,
            namespace.name,
            request.workflow_id,
            request,
            RespondActivityTaskCanceledResponse,
        )
    return RespondActivityTaskCanceledByIdResponse()
