"""DescribeBatchOperation: the job's batch workflow, its memo and its activity's progress."""

from __future__ import annotations

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.workflowservice.v1 import (
    DescribeBatchOperationRequest,
    DescribeBatchOperationResponse,
    DescribeWorkflowExecutionRequest,
)

from frontend import batch
from frontend.context import Call, Env
from frontend.rpc import describe_workflow_execution
from schemas.batch import names


async def handle(
    env: Env, request: DescribeBatchOperationRequest, call: Call
) -> DescribeBatchOperationResponse:
    """Describes the job; an unknown one is NOT_FOUND."""
    batch.require_job(env, request.namespace, request.job_id)
    described = await describe_workflow_execution.handle(
        env,
        DescribeWorkflowExecutionRequest(
            namespace=request.namespace, execution=WorkflowExecution(workflow_id=request.job_id)
        ),
        Call("DescribeWorkflowExecution", call.deadline),
    )
    info = described.workflow_execution_info
    memo = info.memo
    out = DescribeBatchOperationResponse(
        operation_type=batch.type_of(memo),
        job_id=info.execution.workflow_id,
        state=batch.state_of(info.status),
        identity=batch.decode_json(
            info.search_attributes.indexed_fields.get(names.BATCHER_USER), ""
        ),
        reason=batch.decode_json(memo.fields.get(names.MEMO_REASON), ""),
        query=batch.decode_json(memo.fields.get(names.MEMO_QUERY), ""),
        executions=batch.memo_executions(memo),
    )
    if info.HasField("start_time"):
        out.start_time.CopyFrom(info.start_time)
    if info.HasField("close_time"):
        out.close_time.CopyFrom(info.close_time)
    if info.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED:
        success, failure = batch.completed_stats(memo)
        out.total_operation_count = success + failure
        out.complete_operation_count = success
        out.failure_operation_count = failure
    elif described.pending_activities:
        progress = batch.running_progress(described.pending_activities[0].heartbeat_details)
        out.total_operation_count = progress.TotalEstimate
        out.complete_operation_count = progress.SuccessCount
        out.failure_operation_count = progress.ErrorCount
    return out
