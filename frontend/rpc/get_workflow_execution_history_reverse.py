"""GetWorkflowExecutionHistoryReverse: pages of a run's events, newest first."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import (
    GetWorkflowExecutionHistoryReverseRequest,
    GetWorkflowExecutionHistoryReverseResponse,
)

from frontend import validation
from frontend.context import Call, Env, call_history, require_namespace


async def handle(
    env: Env, request: GetWorkflowExecutionHistoryReverseRequest, call: Call
) -> GetWorkflowExecutionHistoryReverseResponse:
    """One page from the end (or from the token's position) backwards; never waits.

    The page size defaults to, and is capped at, ``history_max_page_size`` as in Temporal.
    """
    require_namespace(env, request.namespace)
    execution = validation.validate_execution(request, "execution")
    limit = env.config.history_max_page_size
    if request.maximum_page_size <= 0 or request.maximum_page_size > limit:
        request.maximum_page_size = limit
    return await call_history(
        env,
        call,
        request.namespace,
        execution.workflow_id,
        request,
        GetWorkflowExecutionHistoryReverseResponse,
    )
