"""A worker's build id: recorded in WorkflowTaskCompleted and seen by the workflow as its current
build id, also by a worker that replays the history (on Strom and on the Temporal dev server)."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import ResetStickyTaskQueueRequest
from temporalio.client import WorkflowHandle
from temporalio.worker import Worker

from tests.integration.workflows.conftest import Server
from tests.workflows.build_ids import BuildIdWorkflow

pytestmark = [pytest.mark.timeout(120)]


def _worker(server: Server, task_queue: str, build_id: str) -> Worker:
    return Worker(
        server.client, task_queue=task_queue, workflows=[BuildIdWorkflow], build_id=build_id
    )


async def _build_id_becomes(handle: WorkflowHandle, expected: str) -> str:
    deadline = time.monotonic() + 30
    while True:
        seen = await handle.query(BuildIdWorkflow.build_id)
        if seen == expected or time.monotonic() > deadline:
            return seen
        await asyncio.sleep(0.2)


async def test_the_current_build_id_follows_the_worker_of_the_last_completed_task(
    server: Server,
) -> None:
    tq = server.task_queue()
    async with _worker(server, tq, "build-1") as worker:
        handle = await server.client.start_workflow(
            BuildIdWorkflow.run, 1, id=f"build-id-{uuid.uuid4()}", task_queue=tq
        )
        assert await _build_id_becomes(handle, "build-1") == "build-1"
        await worker.shutdown()
    # The next worker has no cached run: it replays the history to answer the query, and
    # learns the build id of the first task only from its WorkflowTaskCompleted event.
    await server.client.workflow_service.reset_sticky_task_queue(
        ResetStickyTaskQueueRequest(
            namespace=server.client.namespace, execution=WorkflowExecution(workflow_id=handle.id)
        )
    )
    async with _worker(server, tq, "build-2"):
        assert await handle.query(BuildIdWorkflow.build_id) == "build-1"
        await handle.signal(BuildIdWorkflow.advance)
        assert await handle.result() == ["build-1", "build-2"]
        assert await _build_id_becomes(handle, "build-2") == "build-2"
    history = await handle.fetch_history()
    completed = [
        e.workflow_task_completed_event_attributes
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    ]
    stamps = [(c.worker_version.build_id, c.worker_version.use_versioning) for c in completed]
    assert stamps == [("build-1", False), ("build-2", False)]
    assert [c.binary_checksum for c in completed] == ["", ""]
