"""RespondActivityTaskFailedById: fails an activity attempt named by workflow and activity id."""

from __future__ import annotations

from temporalio.api.failure.v1 import Failure
from temporalio.api.workflowservice.v1 import (
    RespondActivityTaskFailedByIdRequest,
    RespondActivityTaskFailedByIdResponse,
    RespondActivityTaskFailedResponse,
)

from frontend import validation
from frontend.by_id import check_by_id_request, server_failure
from frontend.context import Call, Env, call_history
from frontend.rpc.record_activity_task_heartbeat import HEARTBEAT_TOO_LARGE

FAILURE_TOO_LARGE = "Failure exceeds size limit."
TRUNCATED_FAILURE_BYTES = 512 * 1024
"""What is kept of an oversized failure (Temporal's limit.blobSize.warn default)."""
_MAX_CAUSE_DEPTH = 20


def truncate_failure(failure: Failure, max_size: int, depth: int = _MAX_CAUSE_DEPTH) -> Failure:
    """Temporal's failure.Truncate: the failure's texts within `max_size` bytes, payloads
    dropped, causes kept while room and depth last."""

    def cut(text: str) -> str:
        nonlocal max_size
        kept = text.encode()[: max(max_size, 0)].decode(errors="ignore")
        max_size -= len(kept.encode())
        if kept:
            max_size -= 4  # proto overhead of the field
        return kept

    out = Failure()
    if failure.HasField("application_failure_info"):
        info = failure.application_failure_info
        out.application_failure_info.non_retryable = info.non_retryable
        out.application_failure_info.type = cut(info.type)
        max_size -= 8
    elif failure.HasField("server_failure_info"):
        out.server_failure_info.non_retryable = failure.server_failure_info.non_retryable
        max_size -= 4
    out.source = cut(failure.source)
    out.message = cut(failure.message)
    out.stack_trace = cut(failure.stack_trace)
    if failure.HasField("cause") and max_size > 4 and depth > 0:
        out.cause.CopyFrom(truncate_failure(failure.cause, max_size - 4, depth - 1))
    return out


async def handle(
    env: Env, request: RespondActivityTaskFailedByIdRequest, call: Call
) -> RespondActivityTaskFailedByIdResponse:
    """Fails the activity's running attempt; history decides on a retry.

    Oversized parts are replaced as Temporal does and reported in the response's
    `failures`: heartbeat details are dropped, a failure becomes a non-retryable server
    failure caused by the truncated original.
    """
    namespace = check_by_id_request(env, request)
    if request.HasField("failure"):
        validation.validate_next_retry_delays(request.failure)
    response = RespondActivityTaskFailedByIdResponse()
    limit = env.config.blob_size_limit_error
    if request.last_heartbeat_details.ByteSize() > limit:
        response.failures.append(server_failure(HEARTBEAT_TOO_LARGE))
        request.ClearField("last_heartbeat_details")
    if request.failure.ByteSize() > limit:
        replaced = server_failure(FAILURE_TOO_LARGE)
        replaced.cause.CopyFrom(truncate_failure(request.failure, TRUNCATED_FAILURE_BYTES))
        request.failure.CopyFrom(replaced)
        response.failures.append(replaced)
    await call_history(
        env,
        call,
        namespace.name,
        request.workflow_id,
        request,
        RespondActivityTaskFailedResponse,
    )
    return response
