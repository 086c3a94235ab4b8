"""CountWorkflowExecutions: how many executions match a list filter."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import (
    CountWorkflowExecutionsRequest,
    CountWorkflowExecutionsResponse,
)

from frontend.backends import InvalidQueryError
from frontend.context import Call, Env, call_visibility, require_namespace
from frontend.errors import invalid_argument
from schemas.namespaces import State


async def handle(
    env: Env, request: CountWorkflowExecutionsRequest, call: Call
) -> CountWorkflowExecutionsResponse:
    """Counts in the visibility store; a deleted namespace by its id, as List does."""
    namespace = require_namespace(env, request.namespace, tuple(State))
    try:
        if namespace.state is State.DELETED:
            counting = env.visibility.count(
                request.namespace, request.query, namespace_id=namespace.id
            )
        else:
            counting = env.visibility.count(request.namespace, request.query)
        return await call_visibility(env, call, counting)
    except InvalidQueryError as err:
        raise invalid_argument(str(err)) from None
