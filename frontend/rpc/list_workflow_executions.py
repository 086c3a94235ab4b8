"""ListWorkflowExecutions: one page of executions matching a list filter."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import (
    ListWorkflowExecutionsRequest,
    ListWorkflowExecutionsResponse,
)

from frontend.backends import InvalidQueryError
from frontend.context import Call, Env, call_visibility, require_namespace
from frontend.errors import invalid_argument


async def handle(
    env: Env, request: ListWorkflowExecutionsRequest, call: Call
) -> ListWorkflowExecutionsResponse:
    """Lists from the visibility store; a page size out of range means the maximum."""
    require_namespace(env, request.namespace)
    max_page = env.config.visibility_max_page_size
    page_size = request.page_size if 0 < request.page_size <= max_page else max_page
    try:
        return await call_visibility(
            env,
            call,
            env.visibility.list(
                request.namespace, request.query, page_size, request.next_page_token
            ),
        )
    except InvalidQueryError as err:
        raise invalid_argument(str(err)) from None
