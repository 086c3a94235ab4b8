"""Strom only: an update caller whose frontend or history restarts mid-wait.

The caller's wait ends early with an error status (its transport's, when its connection to
the frontend breaks; Temporal's DEADLINE_EXCEEDED when history forgot the wait and the
caller's deadline passes), and PollWorkflowExecutionUpdate then finds the update where
history recorded it: accepted while the handler runs, completed with its outcome once it
returns.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from datetime import timedelta

import pytest
from temporalio.api.common.v1 import Payloads, WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.enums.v1 import UpdateWorkflowExecutionLifecycleStage as Stage
from temporalio.api.update.v1 import Input, Meta, Request, UpdateRef, WaitPolicy
from temporalio.api.workflowservice.v1 import (
    GetSystemInfoRequest,
    PollWorkflowExecutionUpdateRequest,
    PollWorkflowExecutionUpdateResponse,
    UpdateWorkflowExecutionRequest,
)
from temporalio.client import Client, WorkflowHandle
from temporalio.converter import DataConverter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from strom.testing import StromEnvironment
from tests.helpers import eventually_async
from tests.workflows.updater import UpdaterWorkflow

pytestmark = [pytest.mark.timeout(240)]

_ACCEPTED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
_COMPLETED = Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED
_STAGE_ACCEPTED = Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED
VALUE = 7


def _update(namespace: str, workflow_id: str, update_id: str) -> UpdateWorkflowExecutionRequest:
    """`slow_set(VALUE)`: accepted at once, completed only after the `finish` signal."""
    return UpdateWorkflowExecutionRequest(
        namespace=namespace,
        workflow_execution=WorkflowExecution(workflow_id=workflow_id),
        wait_policy=WaitPolicy(lifecycle_stage=_COMPLETED),
        request=Request(
            meta=Meta(update_id=update_id, identity="restart-test"),
            input=Input(
                name="slow_set",
                args=Payloads(
                    payloads=DataConverter.default.payload_converter.to_payloads([VALUE])
                ),
            ),
        ),
    )


async def _poll(
    client: Client, workflow_id: str, update_id: str, stage: int
) -> PollWorkflowExecutionUpdateResponse:
    request = PollWorkflowExecutionUpdateRequest(
        namespace=client.namespace,
        update_ref=UpdateRef(
            workflow_execution=WorkflowExecution(workflow_id=workflow_id), update_id=update_id
        ),
        wait_policy=WaitPolicy(lifecycle_stage=stage),  # type: ignore[arg-type]
    )
    return await client.workflow_service.poll_workflow_execution_update(
        request, timeout=timedelta(seconds=30)
    )


async def _serving(client: Client) -> None:
    """Waits until the frontend answers again (the next test needs it too)."""
    await eventually_async(
        lambda: client.workflow_service.get_system_info(
            GetSystemInfoRequest(), retry=False, timeout=timedelta(seconds=5)
        ),
        timeout=90,
        interval=0.5,
        retry_on=(RPCError,),
    )


async def _accepted(handle: WorkflowHandle) -> bool:
    return any(e.event_type == _ACCEPTED for e in (await handle.fetch_history()).events)


async def _outcome_after_restart(
    env: StromEnvironment,
    service: str,
    caller_timeout_s: float,
    statuses: set[RPCStatusCode],
) -> None:
    """Kills `service` while an update caller waits; checks its status and the polled outcome."""
    client = env.client
    tq = f"upd-restart-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=tq, workflows=[UpdaterWorkflow]):
        handle = await client.start_workflow(
            UpdaterWorkflow.run, id=f"upd-restart-{uuid.uuid4()}", task_queue=tq
        )
        update_id = f"u-{uuid.uuid4().hex[:8]}"
        call = asyncio.create_task(
            client.workflow_service.update_workflow_execution(
                _update(client.namespace, handle.id, update_id),
                retry=False,
                timeout=timedelta(seconds=caller_timeout_s),
            )
        )
        await eventually_async(lambda: _accepted(handle), timeout=30)
        assert not call.done()
        process = env.services.processes[service]
        process.send_signal(signal.SIGKILL)
        process.wait(60)
        env.services.respawn(service)

        try:
            with pytest.raises(RPCError) as ended:
                await call
            assert ended.value.status in statuses, ended.value
        finally:
            await _serving(client)

        # History holds the acceptance: a poll finds it (retried while the service comes up).
        accepted = await eventually_async(
            lambda: _poll(client, handle.id, update_id, _STAGE_ACCEPTED),
            timeout=90,
            interval=0.5,
            retry_on=(RPCError,),
        )
        assert accepted.stage == _STAGE_ACCEPTED
        assert not accepted.HasField("outcome")

        await handle.signal(UpdaterWorkflow.finish)
        completed = await _poll(client, handle.id, update_id, _COMPLETED)
        assert completed.stage == _COMPLETED
        converter = DataConverter.default.payload_converter
        assert converter.from_payloads(completed.outcome.success.payloads) == [VALUE]
        await handle.result()  # the run ends with the same task (its value is read earlier)
        # The SDK's handle of the same update gets the same outcome.
        assert await handle.get_update_handle(update_id).result() == VALUE


async def test_frontend_restart_ends_the_wait_unavailable_and_poll_gets_the_outcome(
    strom_env: StromEnvironment,
) -> None:
    # The status comes from the client's transport: the connection broke (the Python SDK's
    # bridge reports UNKNOWN "transport error" for a reset stream, UNAVAILABLE for a refused
    # connection); the SDK's own calls retry both.
    await _outcome_after_restart(
        strom_env, "frontend", 60, {RPCStatusCode.UNAVAILABLE, RPCStatusCode.UNKNOWN}
    )


async def test_history_restart_ends_the_wait_at_the_deadline_and_poll_gets_the_outcome(
    strom_env: StromEnvironment,
) -> None:
    # The restarted history forgot the waiting caller (it lives in memory, as Temporal's
    # update registry does), so the caller's own deadline ends the wait.
    await _outcome_after_restart(strom_env, "history", 10, {RPCStatusCode.DEADLINE_EXCEEDED})
