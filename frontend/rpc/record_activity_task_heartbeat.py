"""RecordActivityTaskHeartbeat: records heartbeat details, answers cancellation requests."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import (
    RecordActivityTaskHeartbeatRequest,
    RecordActivityTaskHeartbeatResponse,
    RespondActivityTaskFailedRequest,
    RespondActivityTaskFailedResponse,
)

from frontend.by_id import server_failure
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
            failure=server_failure(HEARTBEAT_TOO_LARGE),
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
