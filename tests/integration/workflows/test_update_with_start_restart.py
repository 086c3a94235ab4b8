"""Strom only: history restarts while an update-with-start caller waits on its new run.

The start is committed with the run's first task; the admitted update lived in the killed
process's memory (as in Temporal's update registry). The frontend's wait ends without an
answer, it tells the SDK to retry (UNAVAILABLE), and the retried request finds the run its
start made (same request id) and admits the update there again: one run, the update applied
once.
"""

from __future__ import annotations

import asyncio
import signal
import uuid

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError
from temporalio.worker import Worker

from strom.testing import StromEnvironment
from tests.helpers import eventually_async
from tests.workflows.updater import UpdaterWorkflow

pytestmark = [pytest.mark.timeout(300)]


async def test_history_restart_keeps_one_run_and_applies_the_update_once(
    strom_env: StromEnvironment,
) -> None:
    client = strom_env.client
    tq = f"uws-restart-{uuid.uuid4().hex[:8]}"
    workflow_id = f"uws-restart-{uuid.uuid4()}"
    operation = WithStartWorkflowOperation(
        UpdaterWorkflow.run,
        id=workflow_id,
        task_queue=tq,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )
    # No worker yet: the update waits in the first task of the new run.
    call = asyncio.create_task(
        client.execute_update_with_start_workflow(
            UpdaterWorkflow.set_value, 9, start_workflow_operation=operation
        )
    )
    handle = client.get_workflow_handle(workflow_id)
    await eventually_async(handle.describe, timeout=60, interval=0.5, retry_on=(RPCError,))
    started_run = (await handle.describe()).run_id
    process = strom_env.services.processes["history"]
    process.send_signal(signal.SIGKILL)
    process.wait(60)
    strom_env.services.respawn("history")
    assert not call.done()
    async with Worker(client, task_queue=tq, workflows=[UpdaterWorkflow]):
        # FAIL would refuse a second start: the retry finds its own run by request id.
        assert await asyncio.wait_for(call, 200) == 0
        assert (await operation.workflow_handle()).result_run_id == started_run
        await handle.signal(UpdaterWorkflow.finish)
        assert await handle.result() == 9
    types = [e.event_type for e in (await handle.fetch_history()).events]
    assert types.count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED) == 1
    assert types.count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) == 1
    assert types.count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED) == 1
