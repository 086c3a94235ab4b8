"""Checks shared by the activity RPCs that name an activity by id instead of a task token."""

from __future__ import annotations

from typing import Any

from temporalio.api.failure.v1 import Failure, ServerFailureInfo
from temporalio.api.workflowservice.v1 import (
    RespondActivityTaskFailedByIdRequest,
    RespondActivityTaskFailedResponse,
)

from frontend import validation
from frontend.context import Call, Env, call_history, require_namespace
from frontend.errors import invalid_argument, not_found
from schemas.namespaces import Namespace


def check_by_id_request(env: Env, request: Any) -> Namespace:
    """Validates namespace, activity id, identity and workflow id in Temporal's order.

    A request without workflow id addresses a standalone activity; Strom has none, so it is
    not found, as the dev server answers for an unknown one.

    Returns:
        The request's namespace.
    """
    namespace = require_namespace(env, request.namespace)
    if not request.activity_id:
        raise invalid_argument("ActivityId is not set on request.")
    validation.validate_identity(request.identity, env.config.max_id_length)
    if not request.workflow_id:
        raise not_found(f"activity not found for ID: {request.activity_id}")
    return namespace


def server_failure(message: str) -> Failure:
    """Temporal's non-retryable server failure for a payload over the size limit."""
    return Failure(message=message, server_failure_info=ServerFailureInfo(non_retryable=True))


async def fail_oversized(
    env: Env, call: Call, namespace: Namespace, request: Any, message: str
) -> None:
    """Fails the activity a by-id request names, because its payload is over the size limit.

    Temporal answers an oversized result, cancellation or heartbeat by failing the activity
    with a non-retryable server failure instead of recording the payload.
    """
    failed = RespondActivityTaskFailedByIdRequest(
        namespace=namespace.name,
        workflow_id=request.workflow_id,
        run_id=request.run_id,
        activity_id=request.activity_id,
        identity=request.identity,
        failure=server_failure(message),
    )
    await call_history(
        env,
        call,
        namespace.name,
        request.workflow_id,
        failed,
        RespondActivityTaskFailedResponse,
        kind="RespondActivityTaskFailedById",
    )
