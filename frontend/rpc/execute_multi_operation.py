"""ExecuteMultiOperation: update-with-start, [StartWorkflowExecution, UpdateWorkflowExecution].

Temporal's frontend checks (service/frontend/workflow_handler.go) and its error shape: a
MultiOperationExecution error whose detail lists one status per operation, the operations
that did not fail marked aborted. Both operations go to the workflow's shard as one command:
history decides the start (or finds the running run its conflict policy allows) and admits
the update in one step, so a started run never misses its update; the caller then waits
there for the update's stage (`history_processor/handlers/execute_multi_operation.py`).
"""

from __future__ import annotations

import grpc
from temporalio.api.errordetails.v1 import MultiOperationExecutionFailure
from temporalio.api.failure.v1 import MultiOperationExecutionAborted
from temporalio.api.workflowservice.v1 import (
    ExecuteMultiOperationRequest,
    ExecuteMultiOperationResponse,
    StartWorkflowExecutionRequest,
    UpdateWorkflowExecutionRequest,
)

from frontend.context import REGISTERED_ONLY, Call, Env, require_namespace
from frontend.errors import ServiceError, invalid_argument, pack
from frontend.rpc import start_workflow_execution, update_workflow_execution
from frontend.search_attributes import validate_for_start
from frontend.update_waits import wait_in_history
from schemas.inbox import EXECUTE_MULTI_OPERATION, UpdateWithStart
from schemas.namespaces import Namespace

MSG_FAILED = "Update-with-Start could not be executed."
MSG_ABORTED = "Operation was aborted."
MSG_NOT_START_AND_UPDATE = "Operations have to be exactly [Start, Update]."
MSG_NAMESPACE_MISMATCH = "Operation namespace did not match request's namespace."
MSG_ID_INCONSISTENT = "WorkflowId is not consistent with previous operation(s)."
MSG_UPDATE_ABORTED = "workflow update was aborted"
LOST_WAIT_RETRIES = 3
"""Sends of one update-with-start while history does not answer (it restarted)."""


async def handle(
    env: Env, request: ExecuteMultiOperationRequest, call: Call
) -> ExecuteMultiOperationResponse:
    """Starts (or finds) the workflow and updates it; both answers in one response."""
    namespace = require_namespace(env, request.namespace, REGISTERED_ONLY)
    ops = request.operations
    if (
        len(ops) != 2
        or not ops[0].HasField("start_workflow")
        or not ops[1].HasField("update_workflow")
    ):
        raise invalid_argument(MSG_NOT_START_AND_UPDATE)
    start, update = ops[0].start_workflow, ops[1].update_workflow
    errors = [_check_start(env, namespace, start), _check_update(env, request.namespace, update)]
    if errors == [None, None] and start.workflow_id != update.workflow_execution.workflow_id:
        errors[1] = invalid_argument(MSG_ID_INCONSISTENT)
    if errors != [None, None]:
        raise multi_operation_error(errors)
    start.namespace = update.namespace = request.namespace
    for _ in range(LOST_WAIT_RETRIES):
        try:
            return await _wait(env, call, request.namespace, start, update)
        except _HistoryForgot:
            # History restarted or its shard moved and forgot the admitted update (Temporal's
            # registry cleared); like Temporal's history client, send both operations again:
            # the start finds its own run by request id and the update is admitted anew.
            continue
    raise multi_operation_error(
        [None, ServiceError(grpc.StatusCode.UNAVAILABLE, MSG_UPDATE_ABORTED)]
    )


class _HistoryForgot(Exception):
    """History did not answer a waiting update-with-start."""


async def _wait(
    env: Env,
    call: Call,
    namespace: str,
    start: StartWorkflowExecutionRequest,
    update: UpdateWorkflowExecutionRequest,
) -> ExecuteMultiOperationResponse:
    """Sends the update-with-start to history and waits there for the update's stage."""
    wait_stage = update.wait_policy.lifecycle_stage

    def lost() -> ExecuteMultiOperationResponse:
        raise _HistoryForgot

    try:
        return await wait_in_history(
            env,
            call,
            namespace,
            start.workflow_id,
            EXECUTE_MULTI_OPERATION,
            lambda deadline_ms: UpdateWithStart(
                start.SerializeToString(), update.SerializeToString(), deadline_ms
            ),
            ExecuteMultiOperationResponse,
            lambda response: response.responses[1].update_workflow.stage >= wait_stage,
            lost,
        )
    except ServiceError as exc:
        if any(d.Is(MultiOperationExecutionFailure.DESCRIPTOR) for d in exc.details):
            # Temporal's frontend names the feature in the message; the detail says the rest.
            raise ServiceError(exc.code, MSG_FAILED, exc.details) from None
        raise


def _check_start(
    env: Env, namespace: Namespace, start: StartWorkflowExecutionRequest
) -> ServiceError | None:
    if start.namespace and start.namespace != namespace.name:
        return invalid_argument(MSG_NAMESPACE_MISMATCH)
    try:
        start_workflow_execution.validate(start, env.config.max_id_length)
        validate_for_start(start.search_attributes, namespace)
    except ServiceError as exc:
        if start.cron_schedule:
            return invalid_argument("CronSchedule is not allowed.")
        return exc
    if start.cron_schedule:
        return invalid_argument("CronSchedule is not allowed.")
    if start.request_eager_execution:
        return invalid_argument("RequestEagerExecution is not supported.")
    if start.workflow_start_delay.ToMilliseconds() > 0:
        return invalid_argument("WorkflowStartDelay is not supported.")
    return None


def _check_update(
    env: Env, namespace: str, update: UpdateWorkflowExecutionRequest
) -> ServiceError | None:
    if update.namespace and update.namespace != namespace:
        return invalid_argument(MSG_NAMESPACE_MISMATCH)
    try:
        update_workflow_execution.validate(
            update, env.config.max_id_length, env.config.blob_size_limit_error
        )
    except ServiceError as exc:
        return exc
    if update.first_execution_run_id:
        return invalid_argument("FirstExecutionRunId is not allowed.")
    if update.workflow_execution.run_id:
        return invalid_argument("RunId is not allowed.")
    return None


def multi_operation_error(errors: list[ServiceError | None]) -> ServiceError:
    """Temporal's MultiOperationExecution error: one status per operation, None = aborted.

    Its own code is the code of the first operation that failed.
    """
    failure = MultiOperationExecutionFailure()
    code = grpc.StatusCode.INTERNAL
    for error in reversed(errors):
        if error is not None:
            code = error.code
    for error in errors:
        status = failure.statuses.add()
        if error is None:
            status.code = grpc.StatusCode.ABORTED.value[0]
            status.message = MSG_ABORTED
            status.details.append(pack(MultiOperationExecutionAborted()))
        else:
            status.code = error.code.value[0]
            status.message = error.message
            status.details.extend(error.details)
    return ServiceError(code, MSG_FAILED, [pack(failure)])
