"""RecordActivityTaskHeartbeatById: heartbeats an activity named by workflow and activity id."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import (
    RecordActivityTaskHeartbeatByIdRequest,
    RecordActivityTaskHeartbeatByIdResponse,
    RecordActivityTaskHeartbeatResponse,
)

from frontend.by_id import check_by_id_request, fail_oversized
from frontend.context import Call, Env, call_history
from frontend.rpc.record_activity_task_heartbeat import HEARTBEAT_TOO_LARGE


async def handle(
    env: Env, request: RecordActivityTaskHeartbeatByIdRequest, call: Call
) -> RecordActivityTaskHeartbeatByIdResponse:
    """Records the heartbeat; answers whether the workflow asked to cancel the activity.

    Details above the blob size limit fail the activity with a non-retryable server failure
    and tell the caller to stop (cancel_requested), as Temporal does.
    """
    namespace = check_by_id_request(env, request)
    if request.details.ByteSize() > env.config.blob_size_limit_error:
        await fail_oversized(env, call, namespace, request, HEARTBEAT_TOO_LARGE)
        return RecordActivityTaskHeartbeatByIdResponse(cancel_requested=True)
    response = await call_history(
        env,
        call,
        namespace.name,
        request.workflow_id,
        request,
        RecordActivityTaskHeartbeatResponse,
    )
    return RecordActivityTaskHeartbeatByIdResponse(
        cancel_requested=response.cancel_requested,
        activity_paused=response.activity_paused,
        activity_reset=response.activity_reset,
    )
