"""Names shared by the frontend's batch RPCs and the worker's batch workflow (Temporal's)."""

from __future__ import annotations

from temporalio.api.enums.v1 import BatchOperationType

WORKFLOW_TYPE = "temporal-sys-batch-workflow-protobuf"
"""The batch workflow's type on Temporal 1.32 (the job id is its workflow id)."""
ACTIVITY_TYPE = "BatchActivityWithProtobuf"
NAMESPACE_DIVISION = "TemporalBatcher"
"""Value of TemporalNamespaceDivision on batch workflows; hides them from user lists."""
BATCHER_USER = "BatcherUser"
"""Search attribute holding the identity that started the job."""

MEMO_TYPE = "batch_operation_type"
MEMO_REASON = "batch_operation_reason"
MEMO_STATS = "batch_operation_stats"
MEMO_QUERY = "batch_operation_visibility_query"
MEMO_EXECUTIONS = "batch_operation_executions"

OPEN_JOBS_QUERY = f"TemporalNamespaceDivision = '{NAMESPACE_DIVISION}' AND ExecutionStatus = 1"
"""Temporal's count of running jobs, checked against the concurrency limit."""
LIST_QUERY = f"TemporalNamespaceDivision = '{NAMESPACE_DIVISION}'"

MAX_CONCURRENT_JOBS = 1
"""Temporal's frontend.MaxConcurrentBatchOperationPerNamespace default."""
DEFAULT_RPS = 50.0
"""Temporal's worker.batcherRPS default: operations per second of one job."""
CONCURRENCY = 5
"""Temporal's worker.batcherConcurrency default: operations in flight in one job."""
PAGE_SIZE = 1000
ATTEMPTS_ON_RETRYABLE_ERROR = 50
HEARTBEAT_TIMEOUT_S = 10.0

BT = BatchOperationType
TYPE_BY_OPERATION: dict[str, tuple[str, BatchOperationType.ValueType]] = {
    "termination_operation": ("terminate", BT.BATCH_OPERATION_TYPE_TERMINATE_WORKFLOW),
    "cancellation_operation": ("cancel", BT.BATCH_OPERATION_TYPE_CANCEL_WORKFLOW),
    "signal_operation": ("signal", BT.BATCH_OPERATION_TYPE_SIGNAL_WORKFLOW),
    "deletion_operation": ("delete", BT.BATCH_OPERATION_TYPE_DELETE_WORKFLOW),
    "reset_operation": ("reset", BT.BATCH_OPERATION_TYPE_RESET_WORKFLOW),
}
"""Operation field -> (memo name, the type Describe and List report), as Temporal maps them."""
TYPE_BY_MEMO = {memo: kind for memo, kind in TYPE_BY_OPERATION.values()}
RUNNING_ONLY_OPERATIONS = frozenset(
    {"termination_operation", "cancellation_operation", "signal_operation"}
)
"""Operations whose query Temporal narrows to running executions."""
