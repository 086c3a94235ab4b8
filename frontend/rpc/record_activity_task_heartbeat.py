"""RecordActivityTaskHeartbeat: records heartbeat details, answers cancellation requests."""

from __future__ import annotations

from temporalio.api.failure.v1 import Failure, ServerFailureInfo
from temporalio.api.workflowservice.v1 import (
    RecordActivityTaskHeartbeatRequest,
    RecordActivityTaskHeartbeatResponse,
    RespondActivityTaskFailedRequest,
    RespondActivityTaskFailedResponse,
)

from frontend.context import Call, Env, call_history, resolve_task_token

HEARTBEAT_TOO_LARGE = "Heartbeat details exceed size limit."


async def handle(
    env: Env, request: RecordActivityTaskHeartbeatRequest, call: Call
) -> RecordActivityTaskHeartbeatResponse:
    """Heartbeats the activity attempt the token names.

    Details above the blob size limit fail the attempt with a non-retryable server failure
    and tell the worker to stop (cancel_requested), as Temporal does.
    """
    namespace, token = resolve_task_token(env, request)
    if request.details.ByteSize() > env.config.blob_size_limit_error:
        failed = RespondActivityTaskFailedRequest(
            task_token=request.task_token,
            namespace=request.namespace,
            identity=request.identity,
            failure=Failure(
                message=HEARTBEAT_TOO_LARGE,
                server_failure_info=ServerFailureInfo(non_retryable=True),
            ),
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
        return RecordActivityTaskHeartbeatResponse(cancel_requested=True)
    return await call_history(
        env, call, namespace.name, token.workflow_id, request, RecordActivityTaskHeartbeatResponse
    )
