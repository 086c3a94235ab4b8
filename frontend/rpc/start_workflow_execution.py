"""StartWorkflowExecution: validates, fills Temporal's defaults, forwards to the history."""

from __future__ import annotations

from temporalio.api.enums.v1 import WorkflowIdConflictPolicy, WorkflowIdReusePolicy
from temporalio.api.workflowservice.v1 import (
    SignalWithStartWorkflowExecutionRequest,
    StartWorkflowExecutionRequest,
    StartWorkflowExecutionResponse,
)

from frontend import validation
from frontend.context import REGISTERED_ONLY, Call, Env, call_history, require_namespace
from frontend.errors import invalid_argument
from frontend.search_attributes import validate_for_start

_REUSE = WorkflowIdReusePolicy
_CONFLICT = WorkflowIdConflictPolicy


async def handle(
    env: Env, request: StartWorkflowExecutionRequest, call: Call
) -> StartWorkflowExecutionResponse:
    """Starts a workflow; a running one of that id answers ALREADY_EXISTS from history."""
    namespace = require_namespace(env, request.namespace, REGISTERED_ONLY)
    validate(request, env.config.max_id_length)
    validate_for_start(request.search_attributes, namespace)
    return await call_history(
        env,
        call,
        request.namespace,
        request.workflow_id,
        request,
        StartWorkflowExecutionResponse,
    )


def validate(request: StartWorkflowExecutionRequest, max_id: int) -> None:
    """Temporal's checks in Temporal's order; fills defaults into ``request``."""
    default_id_policies(request, _CONFLICT.WORKFLOW_ID_CONFLICT_POLICY_FAIL)
    validation.validate_workflow_id(request.workflow_id, max_id)
    if request.HasField("retry_policy"):
        validation.validate_retry_policy(request.retry_policy)
    if request.cron_schedule and request.HasField("workflow_start_delay"):
        raise invalid_argument("CronSchedule and WorkflowStartDelay may not be used together.")
    validation.validate_duration(
        request, "workflow_start_delay", "An invalid WorkflowStartDelaySeconds is set on request."
    )
    # A cron schedule's syntax is checked by history (history_processor/cron.py).
    if not request.workflow_type.name:
        raise invalid_argument("WorkflowType is not set on request.")
    validation.validate_length(
        request.workflow_type.name, max_id, "WorkflowType length exceeds limit."
    )
    validation.validate_task_queue(request, "task_queue", max_id)
    for field, name in (
        ("workflow_execution_timeout", "WorkflowExecutionTimeoutSeconds"),
        ("workflow_run_timeout", "WorkflowRunTimeoutSeconds"),
        ("workflow_task_timeout", "WorkflowTaskTimeoutSeconds"),
    ):
        validation.validate_duration(request, field, f"An invalid {name} is set on request.")
    validation.ensure_request_id(request, max_id)
    validate_id_policies(request)
    validation.validate_blob_size(request.input, "StartWorkflowExecution input")


_StartRequest = StartWorkflowExecutionRequest | SignalWithStartWorkflowExecutionRequest


def default_id_policies(
    request: _StartRequest, default_conflict: WorkflowIdConflictPolicy.ValueType
) -> None:
    """Fills unset id policies: ``default_conflict``, and ALLOW_DUPLICATE for reuse."""
    if request.workflow_id_conflict_policy == _CONFLICT.WORKFLOW_ID_CONFLICT_POLICY_UNSPECIFIED:
        if request.workflow_id_reuse_policy == _REUSE.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING:
            # Temporal migrates the deprecated policy to its two-policy equivalent.
            request.workflow_id_conflict_policy = (
                _CONFLICT.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING
            )
            request.workflow_id_reuse_policy = _REUSE.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
        else:
            request.workflow_id_conflict_policy = default_conflict
    if request.workflow_id_reuse_policy == _REUSE.WORKFLOW_ID_REUSE_POLICY_UNSPECIFIED:
        request.workflow_id_reuse_policy = _REUSE.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE


def validate_id_policies(request: _StartRequest) -> None:
    """Rejects the reuse/conflict policy pairs Temporal rejects."""
    reuse, conflict = request.workflow_id_reuse_policy, request.workflow_id_conflict_policy
    if (
        conflict != _CONFLICT.WORKFLOW_ID_CONFLICT_POLICY_UNSPECIFIED
        and reuse == _REUSE.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING
    ):
        raise invalid_argument(
            "Invalid WorkflowIDReusePolicy: WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING "
            "cannot be used together with a WorkflowIDConflictPolicy"
        )
    if (
        conflict == _CONFLICT.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING
        and reuse == _REUSE.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
    ):
        raise invalid_argument(
            "Invalid WorkflowIDReusePolicy: WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE cannot be "
            "used together with WorkflowIdConflictPolicy "
            "WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING"
        )
