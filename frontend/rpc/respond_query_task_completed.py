"""RespondQueryTaskCompleted: a worker's answer to a query task, back to the waiting query.

The query task token names the matching process the query waits in (it was handed out
there); the answer goes straight to it. An answer larger than the blob size limit is turned
into a failed answer, as Temporal's frontend does.
"""

from __future__ import annotations

from temporalio.api.enums.v1 import QueryResultType
from temporalio.api.workflowservice.v1 import (
    RespondQueryTaskCompletedRequest,
    RespondQueryTaskCompletedResponse,
)

from frontend import errors
from frontend.context import Call, Env, require_namespace
from frontend.errors import invalid_argument
from frontend.rpc.query_workflow import MSG_BLOB_TOO_LARGE
from schemas import tokens
from schemas.exceptions import TaskTokenError
from schemas.queries import QueryTaskCompleted


async def handle(
    env: Env, request: RespondQueryTaskCompletedRequest, call: Call
) -> RespondQueryTaskCompletedResponse:
    """Delivers the answer; NOT_FOUND when nobody waits for it any more."""
    if request.namespace:
        require_namespace(env, request.namespace)
    if not request.task_token:
        raise invalid_argument("Task token not set on request.")
    try:
        token = tokens.decode_query_token(request.task_token)
    except TaskTokenError:
        raise invalid_argument("Error deserializing task token.") from None
    if not token.task_queue or not token.task_id or not token.matching_address:
        raise invalid_argument("Invalid TaskToken.")
    namespace = env.namespaces.get_by_id(token.namespace_id)
    if namespace is None:
        raise errors.namespace_not_found(token.namespace_id)
    require_namespace(env, namespace.name)
    if request.query_result.ByteSize() > env.config.blob_size_limit_error:
        request = RespondQueryTaskCompletedRequest(
            task_token=request.task_token,
            completed_type=QueryResultType.QUERY_RESULT_TYPE_FAILED,
            error_message=MSG_BLOB_TOO_LARGE,
        )
    message = QueryTaskCompleted(task_id=token.task_id, request=request.SerializeToString())
    reply = await env.matching.respond_query_task_completed(
        token.matching_address, message, call.bound(env.config.history_timeout_s)
    )
    if not reply.ok:
        raise errors.from_reply(reply.status_code, reply.message, reply.details, reply.details_type)
    return RespondQueryTaskCompletedResponse()
