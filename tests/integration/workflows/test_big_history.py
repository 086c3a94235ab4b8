"""A history larger than gRPC's 4 MiB, on Strom and on the dev server: a worker without a
cache (every task polls the whole history) finishes the run, and a client reads it back page
by page."""

from __future__ import annotations

import uuid

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.worker import Worker

from tests.integration.workflows.conftest import Server
from tests.workflows.activities import big_result
from tests.workflows.big_history import SequentialBigResultsWorkflow

pytestmark = [pytest.mark.timeout(300)]
MiB = 1024 * 1024


async def test_a_6_mib_history_is_replayed_by_a_worker_and_read_by_a_client(
    server: Server,
) -> None:
    tq = server.task_queue()
    count, size = 4, int(1.5 * MiB)
    async with Worker(
        server.client,
        task_queue=tq,
        workflows=[SequentialBigResultsWorkflow],
        activities=[big_result],
        max_cached_workflows=0,  # no sticky queue: each task comes with the whole history
    ):
        handle = await server.client.start_workflow(
            SequentialBigResultsWorkflow.run,
            args=[count, size],
            id=f"big-history-{uuid.uuid4().hex[:8]}",
            task_queue=tq,
        )
        assert await handle.result() == count * size
    events = [e async for e in handle.fetch_history_events()]
    assert sum(e.ByteSize() for e in events) > 4 * MiB
    assert [e.event_id for e in events] == list(range(1, len(events) + 1))
    completed = [e for e in events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED]
    assert len(completed) == count
    assert events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
