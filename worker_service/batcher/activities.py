"""The batcher's activity (Temporal's ``BatchActivityWithProtobuf``): lists the job's targets
page by page through the frontend and applies the operation to each, paced and in parallel,
heartbeating its progress."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import timedelta

from temporalio import activity
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import ResetType
from temporalio.api.workflowservice.v1 import (
    CountWorkflowExecutionsRequest,
    DeleteWorkflowExecutionRequest,
    GetWorkflowExecutionHistoryRequest,
    GetWorkflowExecutionHistoryReverseRequest,
    ListWorkflowExecutionsRequest,
    RequestCancelWorkflowExecutionRequest,
    ResetWorkflowExecutionRequest,
    SignalWorkflowExecutionRequest,
    StartBatchOperationRequest,
    TerminateWorkflowExecutionRequest,
)
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode, WorkflowService

from schemas.batch import names
from schemas.batch.args import BatchArgs, Progress
from schemas.schedules.args import unpack
from worker_service.batcher import core

TASK_TIMEOUT = timedelta(seconds=30)
"""Temporal's bound on one operation, so one hung call cannot stall the job."""
HEARTBEAT_EVERY_S = names.HEARTBEAT_TIMEOUT_S / 4
DEFAULT_IDENTITY = "temporal-sys-batcher"
_NIL = uuid.UUID(int=0)


def request_id(job_id: str, *parts: str) -> str:
    """Temporal's deterministic request id: a retried job repeats the same request."""
    return str(uuid.uuid5(_NIL, ":".join((job_id, *parts))))


def _non_retryable(err: RPCError) -> ApplicationError:
    return ApplicationError(err.message, type="InvalidArgument", non_retryable=True)


class Operation:
    """One job's operation on one execution, through the frontend like any client."""

    def __init__(
        self,
        service: WorkflowService,
        namespace: str,
        request: StartBatchOperationRequest,
        operation: str,
    ) -> None:
        self._service = service
        self._namespace = namespace
        self._request = request
        self._operation = operation

    async def apply(self, execution: WorkflowExecution) -> None:
        """Applies the operation; raises what the frontend answered."""
        handler: Callable[[WorkflowExecution], Awaitable[object]] = getattr(
            self, "_" + self._operation.removesuffix("_operation")
        )
        await handler(execution)

    async def _termination(self, execution: WorkflowExecution) -> object:
        op = self._request.termination_operation
        return await self._service.terminate_workflow_execution(
            TerminateWorkflowExecutionRequest(
                namespace=self._namespace,
                workflow_execution=execution,
                reason=self._request.reason,
                identity=op.identity or DEFAULT_IDENTITY,
            ),
            timeout=TASK_TIMEOUT,
        )

    async def _cancellation(self, execution: WorkflowExecution) -> object:
        op = self._request.cancellation_operation
        return await self._service.request_cancel_workflow_execution(
            RequestCancelWorkflowExecutionRequest(
                namespace=self._namespace,
                workflow_execution=execution,
                identity=op.identity or DEFAULT_IDENTITY,
                request_id=request_id(
                    self._request.job_id, "cancel", execution.workflow_id, execution.run_id
                ),
            ),
            timeout=TASK_TIMEOUT,
        )

    async def _signal(self, execution: WorkflowExecution) -> object:
        op = self._request.signal_operation
        signal = SignalWorkflowExecutionRequest(
            namespace=self._namespace,
            workflow_execution=execution,
            signal_name=op.signal,
            identity=op.identity,
            request_id=request_id(
                self._request.job_id, "signal", execution.workflow_id, execution.run_id, op.signal
            ),
        )
        if op.HasField("input"):
            signal.input.CopyFrom(op.input)
        if op.HasField("header"):
            signal.header.CopyFrom(op.header)
        return await self._service.signal_workflow_execution(signal, timeout=TASK_TIMEOUT)

    async def _deletion(self, execution: WorkflowExecution) -> object:
        return await self._service.delete_workflow_execution(
            DeleteWorkflowExecutionRequest(namespace=self._namespace, workflow_execution=execution),
            timeout=TASK_TIMEOUT,
        )

    async def _reset(self, execution: WorkflowExecution) -> object:
        op = self._request.reset_operation
        if op.HasField("options"):
            event_id = await self._reset_point_of_options(execution)
            reapply = op.options.reset_reapply_type
            exclude = list(op.options.reset_reapply_exclude_types)
        else:
            event_id = await self._reset_point(execution, op.reset_type)
            reapply = op.reset_reapply_type
            exclude = []
        return await self._service.reset_workflow_execution(
            ResetWorkflowExecutionRequest(
                namespace=self._namespace,
                workflow_execution=execution,
                reason=self._request.reason,
                request_id=request_id(
                    self._request.job_id, "reset", execution.workflow_id, execution.run_id
                ),
                workflow_task_finish_event_id=event_id,
                reset_reapply_type=reapply,
                reset_reapply_exclude_types=exclude,
                post_reset_operations=op.post_reset_operations,
                identity=op.identity,
            ),
            timeout=TASK_TIMEOUT,
        )

    async def _reset_point_of_options(self, execution: WorkflowExecution) -> int:
        options = self._request.reset_operation.options
        target = options.WhichOneof("target")
        if target == "first_workflow_task":
            return await self._reset_point(execution, ResetType.RESET_TYPE_FIRST_WORKFLOW_TASK)
        if target == "last_workflow_task":
            return await self._reset_point(execution, ResetType.RESET_TYPE_LAST_WORKFLOW_TASK)
        if target == "workflow_task_id":
            return int(options.workflow_task_id)
        raise ApplicationError(
            f"provided reset target ({target}) is not supported.", non_retryable=True
        )

    async def _reset_point(
        self, execution: WorkflowExecution, reset_type: ResetType.ValueType
    ) -> int:
        found = 0
        if reset_type == ResetType.RESET_TYPE_FIRST_WORKFLOW_TASK:
            forward = GetWorkflowExecutionHistoryRequest(
                namespace=self._namespace, execution=execution, maximum_page_size=1000
            )
            while True:
                page = await self._service.get_workflow_execution_history(
                    forward, timeout=TASK_TIMEOUT
                )
                found = found or core.first_task_event_id(page.history.events)
                if found or not page.next_page_token:
                    break
                forward.next_page_token = page.next_page_token
        elif reset_type == ResetType.RESET_TYPE_LAST_WORKFLOW_TASK:
            backward = GetWorkflowExecutionHistoryReverseRequest(
                namespace=self._namespace, execution=execution, maximum_page_size=1000
            )
            page_r = await self._service.get_workflow_execution_history_reverse(
                backward, timeout=TASK_TIMEOUT
            )
            # The newest page holds the last completed task of any run a worker ever finished.
            found = core.last_task_event_id(page_r.history.events)
        else:
            raise ApplicationError(
                f"provided reset type ({ResetType.Name(reset_type)}) is not supported.",
                non_retryable=True,
            )
        if not found:
            raise ApplicationError(
                "unable to find any scheduled or completed task",
                type="NoWorkflowTaskFound",
                non_retryable=True,
            )
        return found


class BatcherActivities:
    """The batch activity, bound to a client of the worker's frontend."""

    def __init__(self, client: Client) -> None:
        self._client = client

    @activity.defn(name=names.ACTIVITY_TYPE)
    async def run_batch(self, args: BatchArgs) -> Progress:
        """Runs the job to its end; resumes from the last heartbeat after a retry."""
        info = activity.info()
        if args.namespace != info.workflow_namespace:
            raise ApplicationError("namespace mismatch", non_retryable=True)
        request = unpack(args.request, StartBatchOperationRequest)
        service = self._client.workflow_service
        query = core.adjusted_query(request.visibility_query, args.operation)
        details = info.heartbeat_details
        if details and isinstance(details[0], dict):
            progress = core.resumed(details[0])
        else:
            progress = Progress(TotalEstimate=await self._estimate(args, request, query))
        tally = core.Tally(progress)
        job = _Job(
            Operation(service, args.namespace, request, args.operation), core.Pace(args.rps), tally
        )
        beating = asyncio.create_task(_heartbeat_forever(tally))
        try:
            if request.visibility_query:
                await self._run_query(service, args.namespace, query, job)
            else:
                await job.run_page([_execution(e) for e in _explicit(request)])
                tally.page_done("")
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating
        return tally.shown()

    async def _estimate(
        self, args: BatchArgs, request: StartBatchOperationRequest, query: str
    ) -> int:
        if not query:
            return len(_explicit(request))
        try:
            counted = await self._client.workflow_service.count_workflow_executions(
                CountWorkflowExecutionsRequest(namespace=args.namespace, query=query)
            )
        except RPCError as err:
            if err.status == RPCStatusCode.INVALID_ARGUMENT:
                raise _non_retryable(err) from None
            raise
        return int(counted.count)

    async def _run_query(
        self, service: WorkflowService, namespace: str, query: str, job: _Job
    ) -> None:
        token = base64.b64decode(job.tally.done.PageToken)
        while True:
            try:
                page = await service.list_workflow_executions(
                    ListWorkflowExecutionsRequest(
                        namespace=namespace,
                        page_size=names.PAGE_SIZE,
                        next_page_token=token,
                        query=query,
                    )
                )
            except RPCError as err:
                if err.status == RPCStatusCode.INVALID_ARGUMENT:
                    raise _non_retryable(err) from None
                raise
            await job.run_page([e.execution for e in page.executions])
            token = page.next_page_token
            job.tally.page_done(base64.b64encode(token).decode())
            activity.heartbeat(asdict(job.tally.shown()))
            if not token:
                return


class _Job:
    """Applies one operation to the executions of a page, ``CONCURRENCY`` at a time."""

    def __init__(self, operation: Operation, pace: core.Pace, tally: core.Tally) -> None:
        self.operation = operation
        self.pace = pace
        self.tally = tally

    async def run_page(self, executions: list[WorkflowExecution]) -> None:
        queue: asyncio.Queue[WorkflowExecution] = asyncio.Queue()
        for execution in executions:
            queue.put_nowait(execution)
        workers = [asyncio.create_task(self._work(queue)) for _ in range(names.CONCURRENCY)]
        try:
            await asyncio.gather(*workers)
        finally:
            for worker in workers:
                worker.cancel()

    async def _work(self, queue: asyncio.Queue[WorkflowExecution]) -> None:
        while not queue.empty():
            execution = queue.get_nowait()
            self.tally.record(await self._apply_with_retries(execution))

    async def _apply_with_retries(self, execution: WorkflowExecution) -> bool:
        """True when done; an execution that is gone counts as done, as on Temporal."""
        loop = asyncio.get_running_loop()
        for _ in range(names.ATTEMPTS_ON_RETRYABLE_ERROR):
            await asyncio.sleep(self.pace.reserve(loop.time()))
            try:
                await self.operation.apply(execution)
                return True
            except RPCError as err:
                if err.status == RPCStatusCode.NOT_FOUND:
                    return True
                activity.logger.info("batch operation on %s failed: %s", execution.workflow_id, err)
            except ApplicationError as err:
                activity.logger.info("batch operation on %s failed: %s", execution.workflow_id, err)
                if err.non_retryable:
                    return False
        return False


async def _heartbeat_forever(tally: core.Tally) -> None:
    """Heartbeats the progress on Temporal's tick, so a slow pace never misses the timeout."""
    while True:
        activity.heartbeat(asdict(tally.shown()))
        await asyncio.sleep(HEARTBEAT_EVERY_S)


def _explicit(request: StartBatchOperationRequest) -> list[object]:
    return list(request.target_executions) or list(request.executions)


def _execution(item: object) -> WorkflowExecution:
    if isinstance(item, WorkflowExecution):
        return item
    return WorkflowExecution(
        workflow_id=getattr(item, "business_id", ""), run_id=getattr(item, "run_id", "")
    )
