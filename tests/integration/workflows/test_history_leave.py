"""Strom only: a client awaiting a result sees nothing when its history process leaves (SIGTERM).

The leaving process answers the read parked on its shard with "shard moved", the history
client sends it again to the shard's next owner, and the client's call goes on. Before, the
read was dropped with the process and the client got UNAVAILABLE after the frontend's
30 s wait for history.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from datetime import timedelta

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, HistoryEventFilterType
from temporalio.api.workflowservice.v1 import (
    GetWorkflowExecutionHistoryRequest,
    GetWorkflowExecutionHistoryResponse,
)
from temporalio.client import Client
from temporalio.worker import Worker

from strom.testing import StromEnvironment
from tests.workflows.updater import UpdaterWorkflow

pytestmark = [pytest.mark.timeout(300)]

_CLOSE_EVENT = HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT
_COMPLETED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED


async def _await_close(client: Client, workflow_id: str) -> GetWorkflowExecutionHistoryResponse:
    """What `handle.result()` sends, without the SDK's retries: one long poll."""
    request = GetWorkflowExecutionHistoryRequest(
        namespace=client.namespace,
        execution=WorkflowExecution(workflow_id=workflow_id),
        wait_new_event=True,
        history_event_filter_type=_CLOSE_EVENT,
    )
    return await client.workflow_service.get_workflow_execution_history(
        request, retry=False, timeout=timedelta(seconds=120)
    )


async def test_a_result_wait_survives_a_graceful_leave_of_its_history_process(
    strom_env: StromEnvironment,
) -> None:
    client = strom_env.client
    tq = f"leave-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=tq, workflows=[UpdaterWorkflow]):
        handle = await client.start_workflow(
            UpdaterWorkflow.run, id=f"leave-{uuid.uuid4()}", task_queue=tq
        )
        waiting = asyncio.create_task(_await_close(client, handle.id))
        # Give the read time to reach history and park there (if it is still on its way when
        # the process stops, the next one answers it: the test passes without proving much).
        await asyncio.sleep(2)
        assert not waiting.done()

        process = strom_env.services.processes["history"]
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0, "history did not stop cleanly on SIGTERM"
        strom_env.services.respawn("history")

        # No error: the empty answer at the end of the frontend's long poll (still running).
        first = await waiting
        assert not first.history.events
        await handle.signal(UpdaterWorkflow.finish)  # the SDK retries while history comes up
        assert await handle.result() == 0
        closed = await _await_close(client, handle.id)
        assert [e.event_type for e in closed.history.events] == [_COMPLETED]
