"""SignalWithStartWorkflowExecution: validates, fills Temporal's defaults, forwards to history."""

from __future__ import annotations

from temporalio.api.enums.v1 import WorkflowIdConflictPolicy, WorkflowIdReusePolicy
from temporalio.api.workflowservice.v1 import (
    SignalWithStartWorkflowExecutionRequest,
    SignalWithStartWorkflowExecutionResponse,
)

from frontend import validation
from frontend.context import REGISTERED_ONLY, Call, Env, call_history, require_namespace
from frontend.errors import invalid_argument
from frontend.rpc.signal_workflow_execution import BLOB_TOO_LARGE
from frontend.rpc.start_workflow_execution import default_id_policies, validate_id_policies

_REUSE = WorkflowIdReusePolicy
_CONFLICT = WorkflowIdConflictPolicy


async def handle(
    env: Env, request: SignalWithStartWorkflowExecutionRequest, call: Call
) -> SignalWithStartWorkflowExecutionResponse:
    """Signals the running workflow or starts it with the signal, in one history decision."""
    require_namespace(env, request.namespace, REGISTERED_ONLY)
    validate(request, env.config.max_id_length, env.config.blob_size_limit_error)
    return await call_history(
        env,
        call,
        request.namespace,
        request.workflow_id,
        request,
        SignalWithStartWorkflowExecutionResponse,
    )


def _validate_name(value: str, what: str, limit: int) -> None:
    if not value:
        raise invalid_argument(f"{what} not set")
    size = len(value.encode())
    name = "signal name" if what == "signal" else "workflow type name"
    if size > limit:
        raise invalid_argument(f"{name} exceeds maximum allowed length ({size}/{limit})")


def validate(request: SignalWithStartWorkflowExecutionRequest, max_id: int, max_blob: int) -> None:
    """Temporal's ValidateSignalWithStartRequest in Temporal's order; fills defaults in place.

    The blob checks are history's on Temporal (ValidateSignal, the start's input check); the
    answer is the same when the frontend makes them.
    """
    validation.validate_workflow_id(request.workflow_id, max_id)
    _validate_name(request.signal_name, "signal", max_id)
    _validate_name(request.workflow_type.name, "workflow type", max_id)
    validation.validate_task_queue(request, "task_queue", max_id)
    if not request.request_id:
        validation.ensure_request_id(request, max_id)
    elif len(request.request_id.encode()) > max_id:
        size = len(request.request_id.encode())
        raise invalid_argument(f"Request ID exceeds maximum allowed length ({size}/{max_id})")
    for field, name in (
        ("workflow_execution_timeout", "WorkflowExecutionTimeoutSeconds"),
        ("workflow_run_timeout", "WorkflowRunTimeoutSeconds"),
        ("workflow_task_timeout", "WorkflowTaskTimeoutSeconds"),
    ):
        validation.validate_duration(request, field, f"An invalid {name} is set on request.")
    if request.HasField("retry_policy"):
        validation.validate_retry_policy(request.retry_policy)
    if request.cron_schedule and request.HasField("workflow_start_delay"):
        raise invalid_argument("CronSchedule and WorkflowStartDelay may not be used together.")
    validation.validate_duration(
        request, "workflow_start_delay", "An invalid WorkflowStartDelaySeconds is set on request."
    )
    _validate_id_policies(request)
    if request.input.ByteSize() > max_blob or request.signal_input.ByteSize() > max_blob:
        raise invalid_argument(BLOB_TOO_LARGE)
    # A cron schedule's syntax is checked by history (history_processor/cron.py).


def _validate_id_policies(request: SignalWithStartWorkflowExecutionRequest) -> None:
    validate_id_policies(request)
    conflict = request.workflow_id_conflict_policy
    if conflict == _CONFLICT.WORKFLOW_ID_CONFLICT_POLICY_FAIL:
        raise invalid_argument(
            "Invalid WorkflowIDConflictPolicy: WORKFLOW_ID_CONFLICT_POLICY_FAIL is not supported "
            "for this operation."
        )
    # Signal-with-start's default is to signal the running workflow (USE_EXISTING).
    default_id_policies(request, _CONFLICT.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING)
