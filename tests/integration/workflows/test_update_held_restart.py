"""Strom only: an update admitted to a held speculative task survives a history restart.

History keeps an admitted update and its speculative workflow task in memory only
(`history_processor.wf_updates.held`). A SIGKILL of the history process loses both; the
frontend's wait then ends at ADMITTED, the SDK sends the update again, the restarted history
admits it anew, and a worker completes it: the caller gets its result, and history holds the
update exactly once.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from datetime import timedelta

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.enums.v1 import UpdateWorkflowExecutionLifecycleStage as Stage
from temporalio.api.update.v1 import UpdateRef, WaitPolicy
from temporalio.api.workflowservice.v1 import (
    GetSystemInfoRequest,
    PollWorkflowExecutionUpdateRequest,
    PollWorkflowExecutionUpdateResponse,
)
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from strom.testing import StromEnvironment
from tests.helpers import eventually_async
from tests.workflows.updater import UpdaterWorkflow

pytestmark = [pytest.mark.timeout(300)]

_ADMITTED = Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED
_ACCEPTED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
_COMPLETED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED


async def _admitted(client: Client, workflow_id: str, update_id: str) -> bool:
    request = PollWorkflowExecutionUpdateRequest(
        namespace=client.namespace,
        update_ref=UpdateRef(
            workflow_execution=WorkflowExecution(workflow_id=workflow_id), update_id=update_id
        ),
        wait_policy=WaitPolicy(lifecycle_stage=_ADMITTED),
    )
    response: PollWorkflowExecutionUpdateResponse = (
        await client.workflow_service.poll_workflow_execution_update(
            request, retry=False, timeout=timedelta(seconds=10)
        )
    )
    return response.stage >= _ADMITTED


async def _serving(client: Client) -> None:
    await eventually_async(
        lambda: client.workflow_service.get_system_info(
            GetSystemInfoRequest(), retry=False, timeout=timedelta(seconds=5)
        ),
        timeout=90,
        interval=0.5,
        retry_on=(RPCError,),
    )


async def test_update_lost_with_its_held_speculative_task_is_sent_again_and_completes(
    strom_env: StromEnvironment,
) -> None:
    client = strom_env.client
    tq = f"upd-held-{uuid.uuid4().hex[:8]}"
    workflow_id = f"upd-held-{uuid.uuid4()}"
    async with Worker(client, task_queue=tq, workflows=[UpdaterWorkflow]):
        handle = await client.start_workflow(UpdaterWorkflow.run, id=workflow_id, task_queue=tq)
        # An update through the worker: the run is idle afterwards, its worker sticky.
        assert await handle.execute_update(UpdaterWorkflow.set_value, 1) == 0
    # No worker now: the next update's speculative task stays pending, held in history.
    update_id = f"u-{uuid.uuid4().hex[:8]}"
    call = asyncio.create_task(handle.execute_update(UpdaterWorkflow.set_value, 5, id=update_id))
    await eventually_async(
        lambda: _admitted(client, workflow_id, update_id),
        timeout=60,
        interval=0.5,
        retry_on=(RPCError,),
    )
    assert not call.done()

    process = strom_env.services.processes["history"]
    process.send_signal(signal.SIGKILL)
    process.wait(60)
    strom_env.services.respawn("history")
    await _serving(client)

    async with Worker(client, task_queue=tq, workflows=[UpdaterWorkflow]):
        # The frontend's wait ends at ADMITTED, the SDK sends the update again, and the
        # restarted history admits it to a new speculative task the worker completes.
        assert await asyncio.wait_for(call, timeout=180) == 1
        await handle.signal(UpdaterWorkflow.finish)
        assert await handle.result() == 5
    events = (await handle.fetch_history()).events
    assert [e.event_id for e in events] == list(range(1, len(events) + 1))
    accepted = [
        e
        for e in events
        if e.event_type == _ACCEPTED
        and e.workflow_execution_update_accepted_event_attributes.accepted_request.meta.update_id
        == update_id
    ]
    completed = [
        e
        for e in events
        if e.event_type == _COMPLETED
        and e.workflow_execution_update_completed_event_attributes.meta.update_id == update_id
    ]
    assert len(accepted) == 1 and len(completed) == 1
