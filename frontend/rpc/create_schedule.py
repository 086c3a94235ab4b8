"""CreateSchedule: starts the schedule's scheduler workflow on the per-namespace system queue."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio.api.common.v1 import WorkflowType
from temporalio.api.enums.v1 import WorkflowIdConflictPolicy, WorkflowIdReusePolicy
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    CreateScheduleRequest,
    CreateScheduleResponse,
    StartWorkflowExecutionRequest,
)

from frontend import schedules, validation
from frontend.context import REGISTERED_ONLY, Call, Env, require_namespace
from frontend.errors import ServiceError, invalid_argument
from frontend.rpc import start_workflow_execution
from schemas.schedules import names
from schemas.schedules.args import SchedulerArgs, pack


async def handle(env: Env, request: CreateScheduleRequest, call: Call) -> CreateScheduleResponse:
    """Creates the schedule; an existing one of that id is ALREADY_EXISTS, as on Temporal."""
    namespace = require_namespace(env, request.namespace, REGISTERED_ONLY)
    max_id = env.config.max_id_length
    schedules.require_schedule_id(request.schedule_id, max_id)
    schedules.require_valid_times(request)
    if not request.request_id:
        raise invalid_argument("RequestId is not set on request.")
    validation.validate_length(request.request_id, max_id, "RequestId length exceeds limit.")
    schedule = schedules.canonical_schedule(request.schedule, max_id, namespace)
    args = SchedulerArgs(
        namespace=request.namespace,
        schedule_id=request.schedule_id,
        schedule=pack(schedule),
        initial_patch=pack(request.initial_patch) if request.HasField("initial_patch") else "",
        conflict_token=names.INITIAL_CONFLICT_TOKEN,
    )
    start = StartWorkflowExecutionRequest(
        namespace=request.namespace,
        workflow_id=schedules.workflow_id(request.schedule_id),
        workflow_type=WorkflowType(name=names.WORKFLOW_TYPE),
        task_queue=TaskQueue(name=names.TASK_QUEUE),
        input=schedules.encode(args),
        identity=request.identity,
        request_id=request.request_id,
        workflow_id_reuse_policy=WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
        workflow_id_conflict_policy=WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
        memo=request.memo,
        search_attributes=request.search_attributes,
    )
    start.memo.fields[names.MEMO_INFO].CopyFrom(
        schedules.initial_list_info(schedule, datetime.now(UTC))
    )
    start.search_attributes.indexed_fields[names.NAMESPACE_DIVISION_ATTRIBUTE].CopyFrom(
        schedules.encode(names.NAMESPACE_DIVISION).payloads[0]
    )
    try:
        await start_workflow_execution.handle(
            env, start, Call("StartWorkflowExecution", call.deadline)
        )
    except ServiceError as err:
        if err.code.name == "ALREADY_EXISTS":
            raise ServiceError(
                err.code, f'schedule "{request.schedule_id}" is already registered', err.details
            ) from None
        raise
    return CreateScheduleResponse(conflict_token=names.INITIAL_CONFLICT_TOKEN.to_bytes(8, "big"))
