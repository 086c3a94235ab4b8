"""StartBatchOperation: starts the job's batch workflow on the per-namespace system queue."""

from __future__ import annotations

import uuid

from temporalio.api.common.v1 import WorkflowType
from temporalio.api.enums.v1 import WorkflowIdConflictPolicy, WorkflowIdReusePolicy
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    CountWorkflowExecutionsRequest,
    StartBatchOperationRequest,
    StartBatchOperationResponse,
    StartWorkflowExecutionRequest,
)

from frontend import batch, schedules
from frontend.context import REGISTERED_ONLY, Call, Env, require_namespace
from frontend.rpc import count_workflow_executions, start_workflow_execution
from schemas.batch import names
from schemas.batch.args import BatchArgs
from schemas.schedules.args import pack
from schemas.schedules.names import TASK_QUEUE


async def handle(
    env: Env, request: StartBatchOperationRequest, call: Call
) -> StartBatchOperationResponse:
    """Starts the job; a namespace already running its maximum of jobs is RESOURCE_EXHAUSTED."""
    namespace = require_namespace(env, request.namespace, REGISTERED_ONLY)
    operation = batch.validate_start(request)
    running = await count_workflow_executions.handle(
        env,
        CountWorkflowExecutionsRequest(namespace=request.namespace, query=names.OPEN_JOBS_QUERY),
        Call("CountWorkflowExecutions", call.deadline),
    )
    if running.count >= names.MAX_CONCURRENT_JOBS:
        raise batch.too_many_jobs()
    args = BatchArgs(
        namespace=request.namespace,
        namespace_id=namespace.id,
        request=pack(request),
        operation=operation,
        rps=request.max_operations_per_second or names.DEFAULT_RPS,
    )
    identity = batch.identity_of(request, operation)
    start = StartWorkflowExecutionRequest(
        namespace=request.namespace,
        workflow_id=request.job_id,
        workflow_type=WorkflowType(name=names.WORKFLOW_TYPE),
        task_queue=TaskQueue(name=TASK_QUEUE),
        input=schedules.encode(args),
        identity=identity,
        request_id=str(uuid.uuid4()),
        workflow_id_reuse_policy=WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
        workflow_id_conflict_policy=WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
        memo=batch.start_memo(request, operation),
        search_attributes=batch.start_search_attributes(identity),
    )
    await start_workflow_execution.handle(env, start, Call("StartWorkflowExecution", call.deadline))
    return StartBatchOperationResponse()
