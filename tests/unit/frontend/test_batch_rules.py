"""Temporal's checks of StartBatchOperation and the reading of a batch workflow's memo."""

from __future__ import annotations

import grpc
import pytest
from temporalio.api.batch.v1 import (
    BatchOperationCancellation,
    BatchOperationReset,
    BatchOperationSignal,
    BatchOperationTermination,
    BatchOperationUnpauseActivities,
)
from temporalio.api.common.v1 import Execution, Payload, Payloads, ResetOptions, WorkflowExecution
from temporalio.api.enums.v1 import (
    BatchOperationState,
    BatchOperationType,
    ExecutionType,
    WorkflowExecutionStatus,
)
from temporalio.api.workflowservice.v1 import StartBatchOperationRequest

from frontend import batch
from frontend.errors import ServiceError
from schemas.batch import names

QUERY = "WorkflowType = 'x'"


def _request(**fields: object) -> StartBatchOperationRequest:
    base: dict[str, object] = {
        "namespace": "default",
        "job_id": "job",
        "reason": "why",
        "visibility_query": QUERY,
        "termination_operation": BatchOperationTermination(),
    }
    base.update(fields)
    return StartBatchOperationRequest(**{k: v for k, v in base.items() if v is not None})


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (StartBatchOperationRequest(namespace="default"), batch.REQUIRED_MESSAGE),
        (_request(reason=None), batch.REQUIRED_MESSAGE),
        (_request(termination_operation=None), batch.REQUIRED_MESSAGE),
        (_request(visibility_query=None), batch.REQUIRED_MESSAGE),
        (_request(job_id=None), "JobId is not set on request."),
        (
            _request(executions=[WorkflowExecution(workflow_id="a")]),
            "visibility query, executions, and target executions are mutually exclusive",
        ),
        (
            _request(
                termination_operation=None,
                signal_operation=BatchOperationSignal(),
            ),
            "must provide signal name",
        ),
        (
            _request(termination_operation=None, reset_operation=BatchOperationReset()),
            "unknown batch reset type Unspecified",
        ),
        (
            _request(
                termination_operation=None,
                reset_operation=BatchOperationReset(options=ResetOptions()),
            ),
            "batch reset missing target",
        ),
        (
            _request(visibility_query="("),
            "invalid visibility query: syntax error at position 28",
        ),
        (
            _request(
                termination_operation=None,
                unpause_activities_operation=BatchOperationUnpauseActivities(type="a"),
            ),
            "The operation type *workflowservice.StartBatchOperationRequest_"
            "UnpauseActivitiesOperation is not supported",
        ),
        (
            _request(
                visibility_query=None,
                target_executions=[
                    Execution(type=ExecutionType.EXECUTION_TYPE_ACTIVITY, business_id="a")
                ],
            ),
            "target_executions[0] has type Activity, but operation "
            "*workflowservice.StartBatchOperationRequest_TerminationOperation requires Workflow",
        ),
    ],
)
def test_bad_requests_get_temporals_message(
    request_: StartBatchOperationRequest, message: str
) -> None:
    with pytest.raises(ServiceError) as caught:
        batch.validate_start(request_)
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.message == message


def test_good_requests_name_their_operation() -> None:
    assert batch.validate_start(_request()) == "termination_operation"
    signal = _request(termination_operation=None, signal_operation=BatchOperationSignal(signal="s"))
    assert batch.validate_start(signal) == "signal_operation"
    listed = _request(
        visibility_query=None,
        termination_operation=None,
        cancellation_operation=BatchOperationCancellation(),
        executions=[WorkflowExecution(workflow_id="a")],
    )
    assert batch.validate_start(listed) == "cancellation_operation"
    # Only the syntax is checked up front, as on Temporal: an unknown attribute fails the job.
    assert batch.validate_start(_request(visibility_query="Nope = 1")) == "termination_operation"


def test_memo_round_trips_through_describe_helpers() -> None:
    request = _request(
        visibility_query=None,
        executions=[WorkflowExecution(workflow_id="a", run_id="r")],
    )
    memo = batch.start_memo(request, "termination_operation")
    assert batch.type_of(memo) == BatchOperationType.BATCH_OPERATION_TYPE_TERMINATE_WORKFLOW
    assert batch.decode_json(memo.fields[names.MEMO_REASON]) == "why"
    assert names.MEMO_QUERY not in memo.fields
    [execution] = batch.memo_executions(memo)
    assert execution == Execution(
        type=ExecutionType.EXECUTION_TYPE_WORKFLOW, business_id="a", run_id="r"
    )
    memo.fields[names.MEMO_STATS].CopyFrom(batch.json_payload({"NumSuccess": 3, "NumFailure": 1}))
    assert batch.completed_stats(memo) == (3, 1)


def test_progress_and_states() -> None:
    details = Payloads(
        payloads=[batch.json_payload({"TotalEstimate": 9, "SuccessCount": 4, "ErrorCount": 1})]
    )
    progress = batch.running_progress(details)
    assert (progress.TotalEstimate, progress.SuccessCount, progress.ErrorCount) == (9, 4, 1)
    assert batch.running_progress(Payloads(payloads=[Payload(data=b"junk")])).SuccessCount == 0
    status = WorkflowExecutionStatus
    assert batch.state_of(status.WORKFLOW_EXECUTION_STATUS_RUNNING) == (
        BatchOperationState.BATCH_OPERATION_STATE_RUNNING
    )
    assert batch.state_of(status.WORKFLOW_EXECUTION_STATUS_COMPLETED) == (
        BatchOperationState.BATCH_OPERATION_STATE_COMPLETED
    )
    assert batch.state_of(status.WORKFLOW_EXECUTION_STATUS_TERMINATED) == (
        BatchOperationState.BATCH_OPERATION_STATE_FAILED
    )
