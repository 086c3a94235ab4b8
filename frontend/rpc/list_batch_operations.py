"""ListBatchOperations: the namespace's batch workflows from visibility, newest first."""

from __future__ import annotations

from temporalio.api.batch.v1 import BatchOperationInfo
from temporalio.api.workflowservice.v1 import (
    ListBatchOperationsRequest,
    ListBatchOperationsResponse,
    ListWorkflowExecutionsRequest,
)

from frontend import batch
from frontend.context import Call, Env, require_namespace
from frontend.errors import invalid_argument
from frontend.rpc import list_workflow_executions
from schemas.batch import names

MAX_PAGE_SIZE = 1000
"""Temporal's VisibilityMaxPageSize default: the page size when none or a larger one is asked."""


async def handle(
    env: Env, request: ListBatchOperationsRequest, call: Call
) -> ListBatchOperationsResponse:
    """One page of jobs with their state and type."""
    if not request.namespace:
        raise invalid_argument("Namespace is not set on request.")
    require_namespace(env, request.namespace)
    page_size = request.page_size
    if page_size <= 0 or page_size > MAX_PAGE_SIZE:
        page_size = MAX_PAGE_SIZE
    page = await list_workflow_executions.handle(
        env,
        ListWorkflowExecutionsRequest(
            namespace=request.namespace,
            page_size=page_size,
            next_page_token=request.next_page_token,
            query=names.LIST_QUERY,
        ),
        Call("ListWorkflowExecutions", call.deadline),
    )
    out = ListBatchOperationsResponse(next_page_token=page.next_page_token)
    for execution in page.executions:
        info = BatchOperationInfo(
            job_id=execution.execution.workflow_id,
            state=batch.state_of(execution.status),
            operation_type=batch.type_of(execution.memo),
        )
        if execution.HasField("start_time"):
            info.start_time.CopyFrom(execution.start_time)
        if execution.HasField("close_time"):
            info.close_time.CopyFrom(execution.close_time)
        out.operation_info.append(info)
    return out
