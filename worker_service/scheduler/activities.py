"""The scheduler's activities: start, cancel, terminate and watch the workflows it runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from temporalio import activity
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, HistoryEventFilterType
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    GetWorkflowExecutionHistoryRequest,
    RequestCancelWorkflowExecutionRequest,
    StartWorkflowExecutionRequest,
    TerminateWorkflowExecutionRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from schemas.schedules.args import pack

WATCH_POLL_S = 30.0
"""How long one watch waits for a close before it answers "still running"."""


@dataclass
class Started:
    """A started action: its run id and when the server took it."""

    run_id: str
    start_time: str
    already_started: bool = False


@dataclass
class Closed:
    """What a watch saw: status 1 (running) when the run had not closed yet.

    Attributes:
        status: WorkflowExecutionStatus value.
        result: base64 Payloads of a completed run, else "".
        failure: base64 Failure of a failed or timed-out run, else "".
    """

    status: int
    result: str = ""
    failure: str = ""


_RUNNING = 1
_CLOSE_STATUS = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: 2,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: 3,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: 4,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: 5,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: 6,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: 7,
}


class SchedulerActivities:
    """Activities bound to a client of the worker's frontend."""

    def __init__(self, client: Client) -> None:
        self._client = client

    @activity.defn(name="temporal-sys-scheduler-start-workflow")
    async def start_workflow(self, request: StartWorkflowExecutionRequest) -> Started:
        """Starts an action's workflow; a duplicate of a scheduled start counts as done."""
        try:
            response = await self._client.workflow_service.start_workflow_execution(request)
        except RPCError as err:
            if err.status == RPCStatusCode.ALREADY_EXISTS:
                return Started("", _now(), already_started=True)
            raise
        return Started(response.run_id, _now())

    @activity.defn(name="temporal-sys-scheduler-cancel-workflow")
    async def cancel_workflow(self, namespace: str, execution: WorkflowExecution) -> None:
        """Asks a running action to cancel; a closed one is left alone."""
        await _ignore_not_found(
            self._client.workflow_service.request_cancel_workflow_execution(
                RequestCancelWorkflowExecutionRequest(
                    namespace=namespace,
                    workflow_execution=WorkflowExecution(workflow_id=execution.workflow_id),
                    first_execution_run_id=execution.run_id,
                    identity="temporal-scheduler",
                    reason="cancelled by schedule overlap policy",
                )
            )
        )

    @activity.defn(name="temporal-sys-scheduler-terminate-workflow")
    async def terminate_workflow(self, namespace: str, execution: WorkflowExecution) -> None:
        """Terminates a running action; a closed one is left alone."""
        await _ignore_not_found(
            self._client.workflow_service.terminate_workflow_execution(
                TerminateWorkflowExecutionRequest(
                    namespace=namespace,
                    workflow_execution=WorkflowExecution(workflow_id=execution.workflow_id),
                    first_execution_run_id=execution.run_id,
                    identity="temporal-scheduler",
                    reason="terminated by schedule overlap policy",
                )
            )
        )

    @activity.defn(name="temporal-sys-scheduler-watch-workflow")
    async def watch_workflow(
        self, namespace: str, execution: WorkflowExecution, wait: bool
    ) -> Closed:
        """The close of a run (following its retries and continue-as-new), waiting a while.

        Without ``wait`` a running workflow answers at once: its status comes from
        DescribeWorkflowExecution, and only a closed one's close event is read.
        """
        if not wait:
            try:
                described = await self._client.workflow_service.describe_workflow_execution(
                    DescribeWorkflowExecutionRequest(
                        namespace=namespace,
                        execution=WorkflowExecution(workflow_id=execution.workflow_id),
                    )
                )
            except RPCError as err:
                if err.status == RPCStatusCode.NOT_FOUND:
                    return Closed(2)
                raise
            if described.workflow_execution_info.status == _RUNNING:
                return Closed(_RUNNING)
        request = GetWorkflowExecutionHistoryRequest(
            namespace=namespace,
            execution=WorkflowExecution(workflow_id=execution.workflow_id),
            wait_new_event=wait,
            history_event_filter_type=HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
        )
        try:
            response = await self._client.workflow_service.get_workflow_execution_history(
                request, timeout=timedelta(seconds=WATCH_POLL_S)
            )
        except RPCError as err:
            if err.status == RPCStatusCode.DEADLINE_EXCEEDED:
                return Closed(1)
            if err.status == RPCStatusCode.NOT_FOUND:
                return Closed(2)  # gone (deleted after retention): nothing left to wait for
            raise
        for event in response.history.events:
            status = _CLOSE_STATUS.get(event.event_type)
            if status is None:
                continue
            if status == 2:
                done = event.workflow_execution_completed_event_attributes
                return Closed(status, result=pack(done.result) if done.HasField("result") else "")
            if status == 3:
                failed = event.workflow_execution_failed_event_attributes
                return Closed(status, failure=pack(failed.failure))
            return Closed(status)
        return Closed(1)


async def _ignore_not_found(call: object) -> None:
    try:
        await call  # type: ignore[misc]
    except RPCError as err:
        if err.status not in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
