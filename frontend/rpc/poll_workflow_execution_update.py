"""PollWorkflowExecutionUpdate: waits in history for a known update's stage or outcome."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import (
    PollWorkflowExecutionUpdateRequest,
    PollWorkflowExecutionUpdateResponse,
)

from frontend import validation
from frontend.context import Call, Env, require_namespace
from frontend.errors import invalid_argument
from frontend.update_waits import wait_in_history
from schemas.inbox import POLL_WORKFLOW_EXECUTION_UPDATE, PollWorkflowUpdate


async def handle(
    env: Env, request: PollWorkflowExecutionUpdateRequest, call: Call
) -> PollWorkflowExecutionUpdateResponse:
    """The update's stage (and outcome once completed); NOT_FOUND for an unknown update."""
    require_namespace(env, request.namespace)
    if not request.HasField("update_ref"):
        raise invalid_argument("UpdateRef is not set on request.")
    validation.validate_execution(request.update_ref, "workflow_execution")
    wait_stage = request.wait_policy.lifecycle_stage
    execution = request.update_ref.workflow_execution

    def lost() -> PollWorkflowExecutionUpdateResponse:
        # History forgot the caller (it restarted): no stage is known, the caller polls again.
        return PollWorkflowExecutionUpdateResponse(update_ref=request.update_ref)

    return await wait_in_history(
        env,
        call,
        request.namespace,
        execution.workflow_id,
        POLL_WORKFLOW_EXECUTION_UPDATE,
        lambda deadline_ms: PollWorkflowUpdate(request.SerializeToString(), deadline_ms),
        PollWorkflowExecutionUpdateResponse,
        lambda response: response.stage >= wait_stage,
        lost,
    )
