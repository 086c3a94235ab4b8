"""What the batch RPCs share: Temporal's checks of a batch request and the reading of a batch
workflow's memo, search attributes and heartbeat, pure so unit tests cover them."""

from __future__ import annotations

import json
import re
from typing import Any

from google.protobuf import json_format
from temporalio.api.common.v1 import Execution, Memo, Payload, Payloads, SearchAttributes
from temporalio.api.enums.v1 import (
    BatchOperationState,
    BatchOperationType,
    ExecutionType,
    ResetType,
    ResourceExhaustedCause,
    ResourceExhaustedScope,
    WorkflowExecutionStatus,
)
from temporalio.api.workflowservice.v1 import StartBatchOperationRequest
from temporalio.converter import default as default_converter

from frontend.context import Env, require_namespace
from frontend.errors import ServiceError, go_enum_name, invalid_argument, resource_exhausted
from schemas.batch import names
from schemas.batch.args import Progress
from schemas.visibility import sqlparse
from schemas.visibility.exceptions import InvalidQueryError

REQUIRED_MESSAGE = (
    "must provide required parameters: BatchType,Reason,Namespace, AND one of "
    "(Query OR Executions OR TargetExecutions)"
)
_TEMPORAL_PREFIX = "select * from dummy where "
"""The text Temporal's frontend wraps a batch query in before parsing it (positions count it)."""
_STROM_PREFIX = sqlparse._PREFIX + "where "
_POSITION = re.compile(r"syntax error at position (\d+)")


def validate_start(request: StartBatchOperationRequest) -> str:
    """Temporal's checks of a StartBatchOperation request, in its order.

    Returns:
        The operation field (``termination_operation`` ...).

    Raises:
        ServiceError: INVALID_ARGUMENT with Temporal's message.
    """
    operation = request.WhichOneof("operation")
    selectors = sum(
        1
        for present in (request.visibility_query, request.executions, request.target_executions)
        if present
    )
    if operation is None or not request.reason or not request.namespace or selectors == 0:
        raise invalid_argument(REQUIRED_MESSAGE)
    if not request.job_id:
        raise invalid_argument("JobId is not set on request.")
    if selectors > 1:
        raise invalid_argument(
            "visibility query, executions, and target executions are mutually exclusive"
        )
    for i, execution in enumerate(request.target_executions):
        if execution.type != ExecutionType.EXECUTION_TYPE_WORKFLOW:
            raise invalid_argument(
                f"target_executions[{i}] has type {_go_enum(ExecutionType, execution.type)}, "
                f"but operation {_go_type(operation)} requires Workflow"
            )
    if operation not in names.TYPE_BY_OPERATION:
        raise invalid_argument(f"The operation type {_go_type(operation)} is not supported")
    if operation == "signal_operation" and not request.signal_operation.signal:
        raise invalid_argument("must provide signal name")
    if operation == "reset_operation":
        reset = request.reset_operation
        if reset.HasField("options"):
            if reset.options.WhichOneof("target") is None:
                raise invalid_argument("batch reset missing target")
        elif reset.reset_type not in ResetType.values() or reset.reset_type == 0:
            raise invalid_argument(
                f"unknown batch reset type {_go_enum(ResetType, reset.reset_type)}"
            )
    if request.visibility_query:
        check_query_syntax(request.visibility_query)
    return operation


def check_query_syntax(query: str) -> None:
    """Temporal parses the query before starting the job; only its syntax is checked here.

    Raises:
        ServiceError: INVALID_ARGUMENT ``invalid visibility query: syntax error at position N``,
            N counted in Temporal's wrapped text.
    """
    try:
        sqlparse.parse(query)
    except InvalidQueryError as err:
        found = _POSITION.search(str(err))
        if found is None:
            raise invalid_argument(f"invalid visibility query: {err}") from None
        position = int(found.group(1)) - len(_STROM_PREFIX) + len(_TEMPORAL_PREFIX)
        raise invalid_argument(
            f"invalid visibility query: syntax error at position {position}"
        ) from None


def require_job(env: Env, namespace: str, job_id: str) -> None:
    """Describe's and Stop's checks in Temporal's order: an unknown namespace is NOT_FOUND
    first (Temporal's namespace interceptor), then a missing job id or namespace."""
    if namespace:
        require_namespace(env, namespace)
    if not job_id:
        raise invalid_argument("JobId is not set on request.")
    if not namespace:
        raise invalid_argument("Namespace is not set on request.")


def too_many_jobs() -> ServiceError:
    """RESOURCE_EXHAUSTED when the namespace runs its maximum of jobs (Temporal's)."""
    return resource_exhausted(
        "Max concurrent batch operations is reached",
        ResourceExhaustedCause.RESOURCE_EXHAUSTED_CAUSE_CONCURRENT_LIMIT,
        ResourceExhaustedScope.RESOURCE_EXHAUSTED_SCOPE_NAMESPACE,
    )


def identity_of(request: StartBatchOperationRequest, operation: str) -> str:
    """The identity the operation carries (the job's BatcherUser)."""
    return str(getattr(request, operation).identity)


def target_executions(request: StartBatchOperationRequest) -> list[Execution]:
    """The explicit targets as Temporal reports them: target_executions, else executions."""
    if request.target_executions:
        return list(request.target_executions)
    return [
        Execution(
            type=ExecutionType.EXECUTION_TYPE_WORKFLOW,
            business_id=execution.workflow_id,
            run_id=execution.run_id,
        )
        for execution in request.executions
    ]


def json_payload(value: Any) -> Payload:
    """A value as the SDK's json/plain payload."""
    [payload] = default_converter().payload_converter.to_payloads([value])
    return payload


def start_memo(request: StartBatchOperationRequest, operation: str) -> Memo:
    """The job's memo: type, reason, query or explicit targets (Temporal's fields)."""
    memo = Memo()
    memo.fields[names.MEMO_TYPE].CopyFrom(json_payload(names.TYPE_BY_OPERATION[operation][0]))
    memo.fields[names.MEMO_REASON].CopyFrom(json_payload(request.reason))
    if request.visibility_query:
        memo.fields[names.MEMO_QUERY].CopyFrom(json_payload(request.visibility_query))
    executions = target_executions(request)
    if executions:
        listed = [json_format.MessageToDict(execution) for execution in executions]
        memo.fields[names.MEMO_EXECUTIONS].CopyFrom(json_payload(listed))
    return memo


def start_search_attributes(identity: str) -> SearchAttributes:
    """BatcherUser and the division that hides the job from user lists."""
    attributes = SearchAttributes()
    attributes.indexed_fields[names.BATCHER_USER].CopyFrom(json_payload(identity))
    attributes.indexed_fields["TemporalNamespaceDivision"].CopyFrom(
        json_payload(names.NAMESPACE_DIVISION)
    )
    return attributes


def state_of(status: WorkflowExecutionStatus.ValueType) -> BatchOperationState.ValueType:
    """Temporal's job state of a batch workflow status."""
    if status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING:
        return BatchOperationState.BATCH_OPERATION_STATE_RUNNING
    if status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED:
        return BatchOperationState.BATCH_OPERATION_STATE_COMPLETED
    return BatchOperationState.BATCH_OPERATION_STATE_FAILED


def decode_json(payload: Payload | None, default: Any = None) -> Any:
    """A json/plain payload's value; ``default`` when absent or unreadable."""
    if payload is None or not payload.data:
        return default
    try:
        return json.loads(payload.data)
    except ValueError:
        return default


def type_of(memo: Memo) -> BatchOperationType.ValueType:
    """The operation type the memo names (UNSPECIFIED when it names none)."""
    name = decode_json(memo.fields.get(names.MEMO_TYPE), "")
    return names.TYPE_BY_MEMO.get(name, BatchOperationType.BATCH_OPERATION_TYPE_UNSPECIFIED)


def memo_executions(memo: Memo) -> list[Execution]:
    """The explicit targets recorded in the memo."""
    listed = decode_json(memo.fields.get(names.MEMO_EXECUTIONS), [])
    out = []
    for item in listed if isinstance(listed, list) else []:
        try:
            out.append(json_format.ParseDict(item, Execution()))
        except json_format.ParseError:
            continue
    return out


def completed_stats(memo: Memo) -> tuple[int, int]:
    """(successes, failures) the finished job wrote into its memo."""
    stats = decode_json(memo.fields.get(names.MEMO_STATS), {})
    if not isinstance(stats, dict):
        return 0, 0
    return int(stats.get("NumSuccess", 0)), int(stats.get("NumFailure", 0))


def running_progress(details: Payloads) -> Progress:
    """The progress the job's activity heartbeated last."""
    if not details.payloads:
        return Progress()
    value = decode_json(details.payloads[0], {})
    if not isinstance(value, dict):
        return Progress()
    return Progress(
        TotalEstimate=int(value.get("TotalEstimate", 0)),
        SuccessCount=int(value.get("SuccessCount", 0)),
        ErrorCount=int(value.get("ErrorCount", 0)),
    )


def _go_type(operation: str) -> str:
    camel = "".join(part.capitalize() for part in operation.split("_"))
    return f"*workflowservice.StartBatchOperationRequest_{camel}"


def _go_enum(enum: Any, value: int) -> str:
    try:
        name: str = enum.Name(value)
    except ValueError:
        return str(value)
    return go_enum_name(name, _enum_prefix(enum))


def _enum_prefix(enum: Any) -> str:
    """``RESET_TYPE_`` of ResetType: the common prefix of its value names."""
    first: str = enum.Name(0)
    return first.removesuffix("UNSPECIFIED")
