"""ListWorkflowExecutions: one page of executions matching a list filter."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import (
    ListWorkflowExecutionsRequest,
    ListWorkflowExecutionsResponse,
)

from frontend.backends import InvalidQueryError
from frontend.context import Call, Env, call_visibility, require_namespace
from frontend.errors import invalid_argument
from schemas.namespaces import State


async def handle(
    env: Env, request: ListWorkflowExecutionsRequest, call: Call
) -> ListWorkflowExecutionsResponse:
    """Lists from the visibility store; a page size out of range means the maximum.

    A deleted namespace is listed too (by its id: its runs were indexed under its old name,
    which a new namespace may hold now), unlike Temporal, whose frontend refuses it: Strom's
    internal worker, which removes the deleted namespace's runs, has only this API.
    """
    namespace = require_namespace(env, request.namespace, tuple(State))
    max_page = env.config.visibility_max_page_size
    page_size = request.page_size if 0 < request.page_size <= max_page else max_page
    args = (request.namespace, request.query, page_size, request.next_page_token)
    try:
        if namespace.state is State.DELETED:
            listing = env.visibility.list(*args, namespace_id=namespace.id)
        else:
            listing = env.visibility.list(*args)
        return await call_visibility(env, call, listing)
    except InvalidQueryError as err:
        raise invalid_argument(str(err)) from None
