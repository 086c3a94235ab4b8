"""UpdateWorkflowExecution: validates an update and waits in history for the stage asked for."""

from __future__ import annotations

import uuid

import grpc
from temporalio.api.enums.v1 import UpdateWorkflowExecutionLifecycleStage as Stage
from temporalio.api.update.v1 import UpdateRef
from temporalio.api.workflowservice.v1 import (
    UpdateWorkflowExecutionRequest,
    UpdateWorkflowExecutionResponse,
)

from frontend import validation
from frontend.context import Call, Env, require_namespace
from frontend.errors import ServiceError, invalid_argument
from frontend.update_waits import wait_in_history
from schemas.inbox import UPDATE_WORKFLOW_EXECUTION, UpdateWorkflow

MSG_ADMITTED_NOT_ALLOWED = (
    "UpdateWorkflowExecution issued asynchronously and waiting on update admitted is not supported."
)
MSG_BLOB_TOO_LARGE = "Blob data size exceeds limit."


async def handle(
    env: Env, request: UpdateWorkflowExecutionRequest, call: Call
) -> UpdateWorkflowExecutionResponse:
    """The update's stage (and outcome once completed), or Temporal's error."""
    require_namespace(env, request.namespace)
    validate(request, env.config.max_id_length, env.config.blob_size_limit_error)
    return await wait_for_stage(env, request, call)


async def wait_for_stage(
    env: Env, request: UpdateWorkflowExecutionRequest, call: Call
) -> UpdateWorkflowExecutionResponse:
    """Sends a validated update to history and waits there for its stage."""
    wait_stage = request.wait_policy.lifecycle_stage
    execution = request.workflow_execution

    def lost() -> UpdateWorkflowExecutionResponse:
        ref = UpdateRef(workflow_execution=execution, update_id=request.request.meta.update_id)
        return UpdateWorkflowExecutionResponse(
            update_ref=ref, stage=Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED
        )

    return await wait_in_history(
        env,
        call,
        request.namespace,
        execution.workflow_id,
        UPDATE_WORKFLOW_EXECUTION,
        lambda deadline_ms: UpdateWorkflow(request.SerializeToString(), deadline_ms),
        UpdateWorkflowExecutionResponse,
        lambda response: response.stage >= wait_stage,
        lost,
    )


def validate(request: UpdateWorkflowExecutionRequest, max_id: int, max_blob: int) -> None:
    """Temporal's frontend checks in Temporal's order; fills the update id and wait stage."""
    validation.validate_execution(request, "workflow_execution")
    if not request.request.HasField("meta"):
        raise invalid_argument("Update meta is not set on request.")
    meta = request.request.meta
    if len(meta.update_id) > max_id:
        raise invalid_argument("UpdateId length exceeds limit.")
    if not meta.update_id:
        meta.update_id = str(uuid.uuid4())
    if not request.request.HasField("input"):
        raise invalid_argument("Update input is not set on request.")
    if not request.request.input.name:
        raise invalid_argument("Update name is not set on request.")
    if request.request.input.args.ByteSize() > max_blob:
        raise invalid_argument(MSG_BLOB_TOO_LARGE)
    policy = request.wait_policy
    if policy.lifecycle_stage == Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_UNSPECIFIED:
        policy.lifecycle_stage = Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED
    if policy.lifecycle_stage == Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED:
        raise ServiceError(grpc.StatusCode.PERMISSION_DENIED, MSG_ADMITTED_NOT_ALLOWED)
