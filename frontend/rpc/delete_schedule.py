"""DeleteSchedule: terminates the scheduler workflow (the workflows it started keep running)."""

from __future__ import annotations

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import (
    DeleteScheduleRequest,
    DeleteScheduleResponse,
    TerminateWorkflowExecutionRequest,
)

from frontend import schedules
from frontend.context import Call, Env, require_namespace
from frontend.errors import ServiceError, not_found
from frontend.rpc import terminate_workflow_execution

REASON = "terminated by DeleteSchedule"


async def handle(env: Env, request: DeleteScheduleRequest, call: Call) -> DeleteScheduleResponse:
    """Deletes the schedule; an unknown or deleted one is NOT_FOUND."""
    require_namespace(env, request.namespace)
    schedules.require_schedule_id(request.schedule_id, env.config.max_id_length)
    terminate = TerminateWorkflowExecutionRequest(
        namespace=request.namespace,
        workflow_execution=WorkflowExecution(
            workflow_id=schedules.workflow_id(request.schedule_id)
        ),
        reason=REASON,
        identity=request.identity,
    )
    try:
        await terminate_workflow_execution.handle(
            env, terminate, Call("TerminateWorkflowExecution", call.deadline)
        )
    except ServiceError as err:
        if err.code.name == "NOT_FOUND":
            raise not_found("schedule not found") from None
        raise
    return DeleteScheduleResponse()
