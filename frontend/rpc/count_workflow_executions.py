"""CountWorkflowExecutions: how many executions match a list filter."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import (
    CountWorkflowExecutionsRequest,
    CountWorkflowExecutionsResponse,
)

from frontend.backends import InvalidQueryError
from frontend.context import Call, Env, call_visibility, require_namespace
from frontend.errors import invalid_argument


async def handle(
    env: Env, request: CountWorkflowExecutionsRequest, call: Call
) -> CountWorkflowExecutionsResponse:
    """Counts in the visibility store."""
    require_namespace(env, request.namespace)
    try:
        return await call_visibility(
            env, call, env.visibility.count(request.namespace, request.query)
        )
    except InvalidQueryError as err:
        raise invalid_argument(str(err)) from None
