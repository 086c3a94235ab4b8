"""The operator's activity RPCs (PauseActivity, UnpauseActivity, ResetActivity,
UpdateActivityOptions) driven through the official SDK's client, on Strom and on the dev server."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from temporalio.api.activity.v1 import ActivityOptions
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.api.workflowservice.v1 import (
    PauseActivityRequest,
    ResetActivityRequest,
    UnpauseActivityRequest,
    UpdateActivityOptionsRequest,
)
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from tests.helpers import eventually_async
from tests.integration.workflows.conftest import Server
from tests.workflows.activity_ops import (
    OperatedActivityWorkflow,
    QueuedActivityWorkflow,
    heartbeat_until_told,
    which_queue,
)

pytestmark = [pytest.mark.timeout(120)]

ACTIVITY_ID = "operated"


def _execution(handle: WorkflowHandle[Any, Any]) -> WorkflowExecution:
    return WorkflowExecution(workflow_id=handle.id, run_id=handle.result_run_id or "")


async def _pending(handle: WorkflowHandle[Any, Any]) -> PendingActivityInfo:
    description = await handle.describe()
    (pending,) = description.raw_description.pending_activities
    return pending


async def _start(
    server: Server, task_queue: str, maximum_attempts: int
) -> WorkflowHandle[Any, Any]:
    handle = await server.client.start_workflow(
        OperatedActivityWorkflow.run,
        maximum_attempts,
        id=f"wf-{uuid.uuid4().hex[:10]}",
        task_queue=task_queue,
    )

    async def running() -> bool:
        pending = await _pending(handle)
        return pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED

    await eventually_async(running, timeout=30, retry_on=(AssertionError, ValueError))
    return handle


def _worker(server: Server, task_queue: str) -> Worker:
    return Worker(
        server.client,
        task_queue=task_queue,
        workflows=[OperatedActivityWorkflow],
        activities=[heartbeat_until_told],
    )


async def test_a_paused_activity_waits_for_its_unpause(server: Server) -> None:
    task_queue = server.task_queue()
    service = server.client.workflow_service
    async with _worker(server, task_queue):
        # One attempt only: the paused activity's failure still gets a next attempt.
        handle = await _start(server, task_queue, maximum_attempts=1)
        await service.pause_activity(
            PauseActivityRequest(
                namespace="default",
                execution=_execution(handle),
                id=ACTIVITY_ID,
                identity="operator",
                reason="maintenance",
            )
        )

        async def paused_and_failed() -> PendingActivityInfo:
            pending = await _pending(handle)
            assert pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_PAUSED
            return pending

        pending = await eventually_async(paused_and_failed, timeout=30)
        assert pending.paused and pending.attempt == 2
        assert pending.pause_info.manual.identity == "operator"
        assert pending.pause_info.manual.reason == "maintenance"
        assert "produced by activity pause" in pending.last_failure.message
        await service.unpause_activity(
            UnpauseActivityRequest(
                namespace="default", execution=_execution(handle), id=ACTIVITY_ID
            )
        )
        assert await handle.result() == "attempt 2"


async def test_a_reset_running_activity_sees_the_reset(server: Server) -> None:
    task_queue = server.task_queue()
    async with _worker(server, task_queue):
        handle = await _start(server, task_queue, maximum_attempts=3)
        await server.client.workflow_service.reset_activity(
            ResetActivityRequest(
                namespace="default", execution=_execution(handle), type="heartbeat_until_told"
            )
        )
        assert await handle.result() == "reset seen"


async def test_update_options_answers_and_describes_the_new_options(server: Server) -> None:
    task_queue = server.task_queue()
    async with _worker(server, task_queue):
        handle = await _start(server, task_queue, maximum_attempts=3)
        options = ActivityOptions()
        options.heartbeat_timeout.FromSeconds(7)
        options.retry_policy.maximum_attempts = 9
        response = await server.client.workflow_service.update_activity_options(
            UpdateActivityOptionsRequest(
                namespace="default",
                execution=_execution(handle),
                id=ACTIVITY_ID,
                activity_options=options,
                update_mask=FieldMask(paths=["heartbeat_timeout", "retry_policy.maximum_attempts"]),
            )
        )
        updated = response.activity_options
        assert updated.heartbeat_timeout.seconds == 7
        assert updated.retry_policy.maximum_attempts == 9
        assert updated.start_to_close_timeout.seconds == 60
        assert updated.task_queue.name == task_queue
        pending = await _pending(handle)
        assert pending.activity_options.heartbeat_timeout.seconds == 7
        assert pending.maximum_attempts == 9
        await handle.terminate()


async def _error(call: Any) -> tuple[RPCStatusCode, str]:
    with pytest.raises(RPCError) as raised:
        await call
    return raised.value.status, raised.value.message


async def test_bad_operator_requests_are_refused(server: Server) -> None:
    task_queue = server.task_queue()
    service = server.client.workflow_service
    async with _worker(server, task_queue):
        handle = await _start(server, task_queue, maximum_attempts=3)
        execution = _execution(handle)
        missing = await _error(
            service.pause_activity(
                PauseActivityRequest(namespace="default", execution=execution, id="nope")
            )
        )
        assert missing[0] == RPCStatusCode.NOT_FOUND
        no_workflow = await _error(
            service.reset_activity(
                ResetActivityRequest(
                    namespace="default",
                    execution=WorkflowExecution(workflow_id=f"none-{uuid.uuid4()}"),
                    id=ACTIVITY_ID,
                )
            )
        )
        assert no_workflow[0] == RPCStatusCode.NOT_FOUND
        no_activity = await _error(
            service.unpause_activity(
                UnpauseActivityRequest(namespace="default", execution=execution)
            )
        )
        assert no_activity == (
            RPCStatusCode.INVALID_ARGUMENT,
            "Either Activity.Id or Activity.Type should be set on request.",
        )
        both = await _error(
            service.update_activity_options(
                UpdateActivityOptionsRequest(
                    namespace="default",
                    execution=execution,
                    id=ACTIVITY_ID,
                    restore_original=True,
                    update_mask=FieldMask(paths=["heartbeat_timeout"]),
                )
            )
        )
        assert both == (
            RPCStatusCode.INVALID_ARGUMENT,
            "Both UpdateMask and RestoreOriginal are provided",
        )
        await service.pause_activity(
            PauseActivityRequest(
                namespace="default", execution=execution, id=ACTIVITY_ID, request_id="a"
            )
        )
        again = await _error(
            service.pause_activity(
                PauseActivityRequest(
                    namespace="default", execution=execution, id=ACTIVITY_ID, request_id="b"
                )
            )
        )
        assert again[0] == RPCStatusCode.FAILED_PRECONDITION
        await handle.terminate()


@pytest.mark.timeout(300)
async def test_a_task_left_on_the_old_queue_cannot_start_a_moved_activity(
    server: Server,
) -> None:
    workflow_queue = server.task_queue()
    old, new = f"{workflow_queue}-old", f"{workflow_queue}-new"
    async with Worker(server.client, task_queue=workflow_queue, workflows=[QueuedActivityWorkflow]):
        handle = await server.client.start_workflow(
            QueuedActivityWorkflow.run,
            old,
            id=f"wf-{uuid.uuid4().hex[:10]}",
            task_queue=workflow_queue,
        )

        async def scheduled() -> bool:
            pending = await _pending(handle)
            return pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED

        await eventually_async(scheduled, timeout=60, retry_on=(AssertionError, ValueError))
        options = ActivityOptions()
        options.task_queue.name = new
        await server.client.workflow_service.update_activity_options(
            UpdateActivityOptionsRequest(
                namespace="default",
                execution=_execution(handle),
                id=ACTIVITY_ID,
                activity_options=options,
                update_mask=FieldMask(paths=["task_queue.name"]),
            )
        )
        # The task made before the move still waits on the old queue: a worker there gets it
        # from matching, and history refuses its start (its stamp is old).
        async with Worker(server.client, task_queue=old, activities=[which_queue]):
            # No condition marks the refusal on both servers; this pause only gives a
            # regression the chance to show (it can never fail a correct server).
            await asyncio.sleep(3)
            described = await handle.describe()
            assert len(described.raw_description.pending_activities) == 1, "ran on the old queue"
            pending = described.raw_description.pending_activities[0]
            assert pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED
            assert pending.activity_options.task_queue.name == new
            async with Worker(server.client, task_queue=new, activities=[which_queue]):
                assert await asyncio.wait_for(handle.result(), 90) == new
        events = (await handle.fetch_history()).events
        started = [e for e in events if e.HasField("activity_task_started_event_attributes")]
        assert len(started) == 1 and started[0].activity_task_started_event_attributes.attempt == 1
