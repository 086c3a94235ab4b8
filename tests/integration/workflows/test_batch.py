"""Batch operations through the SDK's raw service client, on Strom and on the dev server.

A namespace runs one job at a time (Temporal's default limit), so every test starts its job
with ``start_job``, which waits out the previous one.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.batch.v1 import (
    BatchOperationCancellation,
    BatchOperationDeletion,
    BatchOperationReset,
    BatchOperationSignal,
    BatchOperationTermination,
)
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import (
    BatchOperationState,
    BatchOperationType,
    EventType,
    ResetType,
    WorkflowExecutionStatus,
)
from temporalio.api.workflowservice.v1 import (
    CountWorkflowExecutionsRequest,
    DescribeBatchOperationRequest,
    DescribeBatchOperationResponse,
    ListBatchOperationsRequest,
    ListWorkflowExecutionsRequest,
    StartBatchOperationRequest,
    StopBatchOperationRequest,
)
from temporalio.client import WorkflowHandle
from temporalio.converter import default as default_converter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from tests.helpers import eventually_async
from tests.integration.workflows.conftest import Server
from tests.workflows.signal_collector import SignalCollectorWorkflow

pytestmark = [pytest.mark.timeout(300)]

STATUS = WorkflowExecutionStatus
STATE = BatchOperationState
COMPLETED_TASK = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED


@pytest_asyncio.fixture
async def env(server: Server) -> AsyncIterator[tuple[Server, str]]:
    task_queue = server.task_queue()
    async with Worker(server.client, task_queue=task_queue, workflows=[SignalCollectorWorkflow]):
        yield server, task_queue


async def start_targets(server: Server, task_queue: str, count: int) -> tuple[str, list[Any]]:
    """``count`` workflows waiting for a signal, all visible to a query on their id prefix."""
    prefix = f"batch-{uuid.uuid4().hex[:8]}-"
    handles = [
        await server.client.start_workflow(
            SignalCollectorWorkflow.run, 1, id=f"{prefix}{i}", task_queue=task_queue
        )
        for i in range(count)
    ]

    async def visible() -> bool:
        counted = await server.client.workflow_service.count_workflow_executions(
            CountWorkflowExecutionsRequest(
                namespace="default",
                query=f"WorkflowId STARTS_WITH '{prefix}' AND ExecutionStatus = 'Running'",
            )
        )
        assert counted.count == count
        return True

    await eventually_async(visible, timeout=60, interval=0.3)
    return prefix, handles


async def start_job(server: Server, request: StartBatchOperationRequest) -> None:
    """Starts the job once no other job of the namespace runs (visibility lags a close)."""
    request.namespace = "default"

    async def started() -> bool:
        try:
            await server.client.workflow_service.start_batch_operation(request)
        except RPCError as err:
            assert err.status != RPCStatusCode.RESOURCE_EXHAUSTED, err.message
            raise
        return True

    await eventually_async(started, timeout=90, interval=0.5)


async def finished(server: Server, job_id: str) -> DescribeBatchOperationResponse:
    """The job's description once it left RUNNING."""

    async def done() -> DescribeBatchOperationResponse:
        described = await server.client.workflow_service.describe_batch_operation(
            DescribeBatchOperationRequest(namespace="default", job_id=job_id)
        )
        assert described.state != STATE.BATCH_OPERATION_STATE_RUNNING
        return described

    return await eventually_async(done, timeout=90, interval=0.3)


async def status_of(handle: WorkflowHandle[Any, Any]) -> WorkflowExecutionStatus.ValueType:
    described = await handle.describe()
    return described.raw_description.workflow_execution_info.status


async def test_terminate_by_query_counts_progress_and_hides_the_job(
    env: tuple[Server, str],
) -> None:
    server, task_queue = env
    prefix, handles = await start_targets(server, task_queue, 3)
    job_id = f"job-{uuid.uuid4().hex[:8]}"
    query = f"WorkflowId STARTS_WITH '{prefix}'"
    await start_job(
        server,
        StartBatchOperationRequest(
            job_id=job_id,
            reason="batch test",
            visibility_query=query,
            termination_operation=BatchOperationTermination(identity="tester"),
        ),
    )
    described = await finished(server, job_id)
    assert described.state == STATE.BATCH_OPERATION_STATE_COMPLETED
    assert described.operation_type == (BatchOperationType.BATCH_OPERATION_TYPE_TERMINATE_WORKFLOW)
    assert (described.job_id, described.reason, described.identity, described.query) == (
        job_id,
        "batch test",
        "tester",
        query,
    )
    assert described.total_operation_count == 3
    assert described.complete_operation_count == 3
    assert described.failure_operation_count == 0
    assert described.HasField("start_time") and described.HasField("close_time")
    for handle in handles:
        assert await status_of(handle) == STATUS.WORKFLOW_EXECUTION_STATUS_TERMINATED
        history = await handle.fetch_history()
        assert history.events[-1].workflow_execution_terminated_event_attributes.reason == (
            "batch test"
        )

    async def listed() -> bool:
        page = await server.client.workflow_service.list_batch_operations(
            ListBatchOperationsRequest(namespace="default")
        )
        infos = [i for i in page.operation_info if i.job_id == job_id]
        assert len(infos) == 1, page
        [info] = infos
        assert info.state == STATE.BATCH_OPERATION_STATE_COMPLETED
        assert info.operation_type == BatchOperationType.BATCH_OPERATION_TYPE_TERMINATE_WORKFLOW
        return True

    await eventually_async(listed, timeout=30, interval=0.3)
    # The job's workflow is a system workflow: user lists do not show it.
    users = await server.client.workflow_service.list_workflow_executions(
        ListWorkflowExecutionsRequest(namespace="default", query=f"WorkflowId = '{job_id}'")
    )
    assert not users.executions


async def test_signal_listed_executions(env: tuple[Server, str]) -> None:
    server, task_queue = env
    _, handles = await start_targets(server, task_queue, 2)
    job_id = f"job-{uuid.uuid4().hex[:8]}"
    [payload] = default_converter().payload_converter.to_payloads(["from batch"])
    signal = BatchOperationSignal(signal="add")
    signal.input.payloads.append(payload)
    await start_job(
        server,
        StartBatchOperationRequest(
            job_id=job_id,
            reason="signal them",
            executions=[WorkflowExecution(workflow_id=h.id) for h in handles]
            + [WorkflowExecution(workflow_id=f"missing-{uuid.uuid4().hex[:6]}")],
            signal_operation=signal,
        ),
    )
    described = await finished(server, job_id)
    assert described.state == STATE.BATCH_OPERATION_STATE_COMPLETED
    assert described.operation_type == BatchOperationType.BATCH_OPERATION_TYPE_SIGNAL_WORKFLOW
    # A target that does not exist counts as done, as on Temporal.
    assert (described.total_operation_count, described.complete_operation_count) == (3, 3)
    assert [e.business_id for e in described.executions][:2] == [h.id for h in handles]
    assert described.query == ""
    for handle in handles:
        assert await handle.result() == ["from batch"]


async def test_cancel_then_delete_by_query(env: tuple[Server, str]) -> None:
    server, task_queue = env
    prefix, handles = await start_targets(server, task_queue, 2)
    query = f"WorkflowId STARTS_WITH '{prefix}'"
    cancel_job = f"job-{uuid.uuid4().hex[:8]}"
    await start_job(
        server,
        StartBatchOperationRequest(
            job_id=cancel_job,
            reason="cancel them",
            visibility_query=query,
            cancellation_operation=BatchOperationCancellation(),
        ),
    )
    assert (await finished(server, cancel_job)).complete_operation_count == 2

    async def canceled() -> bool:
        # The job only requests the cancel; each workflow closes at its next workflow task.
        for handle in handles:
            assert await status_of(handle) == STATUS.WORKFLOW_EXECUTION_STATUS_CANCELED
        return True

    await eventually_async(canceled, timeout=30, interval=0.3)

    async def closed_visible() -> bool:
        counted = await server.client.workflow_service.count_workflow_executions(
            CountWorkflowExecutionsRequest(
                namespace="default", query=f"{query} AND ExecutionStatus = 'Canceled'"
            )
        )
        assert counted.count == 2
        return True

    await eventually_async(closed_visible, timeout=60, interval=0.3)
    delete_job = f"job-{uuid.uuid4().hex[:8]}"
    await start_job(
        server,
        StartBatchOperationRequest(
            job_id=delete_job,
            reason="delete them",
            visibility_query=query,
            deletion_operation=BatchOperationDeletion(),
        ),
    )
    described = await finished(server, delete_job)
    assert described.operation_type == BatchOperationType.BATCH_OPERATION_TYPE_DELETE_WORKFLOW
    assert described.complete_operation_count == 2

    async def gone(handle: WorkflowHandle[Any, Any]) -> bool:
        try:
            await handle.describe()
        except RPCError as err:
            assert err.status == RPCStatusCode.NOT_FOUND, err
            return True
        return False

    for handle in handles:
        # The dev server deletes a closed run in a background task (~35 s).
        await eventually_async(lambda h=handle: gone(h), timeout=90, interval=0.5)


async def test_reset_to_first_workflow_task(env: tuple[Server, str]) -> None:
    server, task_queue = env
    prefix, handles = await start_targets(server, task_queue, 2)
    # Reset needs a completed workflow task to go back to.
    for handle in handles:

        async def task_done(h: WorkflowHandle[Any, Any] = handle) -> bool:
            history = await h.fetch_history()
            assert any(e.event_type == COMPLETED_TASK for e in history.events)
            return True

        await eventually_async(task_done, timeout=30, interval=0.3)
    job_id = f"job-{uuid.uuid4().hex[:8]}"
    await start_job(
        server,
        StartBatchOperationRequest(
            job_id=job_id,
            reason="reset them",
            visibility_query=f"WorkflowId STARTS_WITH '{prefix}'",
            reset_operation=BatchOperationReset(
                reset_type=ResetType.RESET_TYPE_FIRST_WORKFLOW_TASK
            ),
        ),
    )
    described = await finished(server, job_id)
    assert described.operation_type == BatchOperationType.BATCH_OPERATION_TYPE_RESET_WORKFLOW
    assert described.complete_operation_count == 2
    for handle in handles:
        first_run = handle.result_run_id
        current = server.client.get_workflow_handle(handle.id)
        info = (await current.describe()).raw_description.workflow_execution_info
        assert info.execution.run_id != first_run
        assert info.status == STATUS.WORKFLOW_EXECUTION_STATUS_RUNNING
        old = await server.client.get_workflow_handle(handle.id, run_id=first_run).describe()
        assert (
            old.status is not None
            and old.status.value == STATUS.WORKFLOW_EXECUTION_STATUS_TERMINATED
        )
        await current.signal(SignalCollectorWorkflow.add, "after reset")
        assert await current.result() == ["after reset"]


async def test_a_query_on_an_unknown_attribute_fails_the_job(server: Server) -> None:
    # Only the syntax is checked up front; the job's own list then fails for good.
    job_id = f"job-{uuid.uuid4().hex[:8]}"
    await start_job(
        server,
        StartBatchOperationRequest(
            job_id=job_id,
            reason="bad query",
            visibility_query="NoSuchAttribute = 'x'",
            termination_operation=BatchOperationTermination(),
        ),
    )
    described = await finished(server, job_id)
    assert described.state == STATE.BATCH_OPERATION_STATE_FAILED
    assert described.query == "NoSuchAttribute = 'x'"


BAD_STARTS = [
    StartBatchOperationRequest(namespace="default"),
    StartBatchOperationRequest(
        namespace="default",
        reason="r",
        visibility_query="WorkflowType = 'x'",
        termination_operation=BatchOperationTermination(),
    ),
    StartBatchOperationRequest(
        namespace="default",
        job_id="j",
        visibility_query="WorkflowType = 'x'",
        termination_operation=BatchOperationTermination(),
    ),
    StartBatchOperationRequest(
        namespace="default", job_id="j", reason="r", visibility_query="WorkflowType = 'x'"
    ),
    StartBatchOperationRequest(
        namespace="default",
        job_id="j",
        reason="r",
        visibility_query="WorkflowType = 'x'",
        executions=[WorkflowExecution(workflow_id="a")],
        termination_operation=BatchOperationTermination(),
    ),
    StartBatchOperationRequest(
        namespace="default",
        job_id="j",
        reason="r",
        visibility_query="(",
        termination_operation=BatchOperationTermination(),
    ),
    StartBatchOperationRequest(
        namespace="default",
        job_id="j",
        reason="r",
        visibility_query="WorkflowType = 'x'",
        signal_operation=BatchOperationSignal(),
    ),
    StartBatchOperationRequest(
        namespace="default",
        job_id="j",
        reason="r",
        visibility_query="WorkflowType = 'x'",
        reset_operation=BatchOperationReset(),
    ),
]


async def test_bad_input_is_refused_like_upstream(server: Server) -> None:
    service = server.client.workflow_service
    seen = []
    for request in BAD_STARTS:
        with pytest.raises(RPCError) as caught:
            await service.start_batch_operation(request)
        seen.append((caught.value.status, caught.value.message))
    assert all(status == RPCStatusCode.INVALID_ARGUMENT for status, _ in seen), seen
    assert [m for _, m in seen] == [
        "must provide required parameters: BatchType,Reason,Namespace, AND one of "
        "(Query OR Executions OR TargetExecutions)",
        "JobId is not set on request.",
        "must provide required parameters: BatchType,Reason,Namespace, AND one of "
        "(Query OR Executions OR TargetExecutions)",
        "must provide required parameters: BatchType,Reason,Namespace, AND one of "
        "(Query OR Executions OR TargetExecutions)",
        "visibility query, executions, and target executions are mutually exclusive",
        "invalid visibility query: syntax error at position 28",
        "must provide signal name",
        "unknown batch reset type Unspecified",
    ]
    for call, request, message in [
        (service.stop_batch_operation, StopBatchOperationRequest(namespace="default"), "JobId"),
        (
            service.stop_batch_operation,
            StopBatchOperationRequest(namespace="default", job_id="j"),
            "Reason is not set on request.",
        ),
        (
            service.describe_batch_operation,
            DescribeBatchOperationRequest(namespace="default"),
            "JobId",
        ),
    ]:
        with pytest.raises(RPCError) as caught:
            await call(request)  # type: ignore[operator]
        assert caught.value.status == RPCStatusCode.INVALID_ARGUMENT
        assert caught.value.message.startswith(message)
    unknown = f"no-such-job-{uuid.uuid4().hex[:6]}"
    with pytest.raises(RPCError) as caught:
        await service.describe_batch_operation(
            DescribeBatchOperationRequest(namespace="default", job_id=unknown)
        )
    assert caught.value.status == RPCStatusCode.NOT_FOUND
    with pytest.raises(RPCError) as caught:
        await service.stop_batch_operation(
            StopBatchOperationRequest(namespace="default", job_id=unknown, reason="x")
        )
    assert caught.value.status == RPCStatusCode.NOT_FOUND


async def test_paced_job_shows_progress_and_stops(env: tuple[Server, str]) -> None:
    server, task_queue = env
    if server.kind == "temporal":
        pytest.skip("Temporal 1.32 ignores max_operations_per_second (worker.batcherRPS rules)")
    prefix, handles = await start_targets(server, task_queue, 10)
    job_id = f"job-{uuid.uuid4().hex[:8]}"
    await start_job(
        server,
        StartBatchOperationRequest(
            job_id=job_id,
            reason="slowly",
            visibility_query=f"WorkflowId STARTS_WITH '{prefix}'",
            max_operations_per_second=0.5,
            termination_operation=BatchOperationTermination(),
        ),
    )

    async def some_done() -> DescribeBatchOperationResponse:
        described = await server.client.workflow_service.describe_batch_operation(
            DescribeBatchOperationRequest(namespace="default", job_id=job_id)
        )
        assert described.state == STATE.BATCH_OPERATION_STATE_RUNNING
        assert described.total_operation_count == 10
        assert 1 <= described.complete_operation_count < 10
        return described

    await eventually_async(some_done, timeout=60, interval=0.3)
    await server.client.workflow_service.stop_batch_operation(
        StopBatchOperationRequest(namespace="default", job_id=job_id, reason="enough")
    )
    stopped = await finished(server, job_id)
    assert stopped.state == STATE.BATCH_OPERATION_STATE_FAILED

    async def terminated() -> int:
        statuses = [await status_of(h) for h in handles]
        return statuses.count(STATUS.WORKFLOW_EXECUTION_STATUS_TERMINATED)

    # The activity hears of the stop with its next heartbeat that gets through: the SDK sends
    # one at most every 0.8 x the 10 s heartbeat timeout, as Temporal's Go SDK does.
    await asyncio.sleep(12)
    after_stop = await terminated()
    await asyncio.sleep(4)  # at 0.5/s a job still going would end two more meanwhile
    assert await terminated() == after_stop < len(handles)
    for handle in handles:
        with contextlib.suppress(RPCError):
            await handle.terminate("test cleanup")
