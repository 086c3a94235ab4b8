"""Temporal's pending-activities cap set small by the operator, on Strom and on the dev server.

Strom's history processor takes ``--max-pending-activities``; the dev server the dynamic config
value ``limit.numPendingActivities.error``. A workflow that runs three activities at once
under a cap of two must get its workflow task failed with PENDING_ACTIVITIES_LIMIT_EXCEEDED.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from strom.testing import StromEnvironment
from tests.servers import TemporalDevServer
from tests.workflows.activities import greet
from tests.workflows.parallel_activities import ParallelActivitiesWorkflow

pytestmark = [pytest.mark.timeout(300)]
_LIMIT = 2


@pytest_asyncio.fixture(params=["strom", "temporal"])
async def limited(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Client]:
    """A client of a server whose runs may have at most two pending activities."""
    if request.param == "strom":
        env = await StromEnvironment.start(
            kafka_bootstrap=request.getfixturevalue("kafka_bootstrap"),
            es_url=request.getfixturevalue("es_url"),
            data_dir=tmp_path_factory.mktemp("strom-limits"),
            service_args={"history": [f"--max-pending-activities={_LIMIT}"]},
        )
        try:
            yield env.client
        finally:
            await env.shutdown()
        return
    dev = TemporalDevServer(dynamic_config={"limit.numPendingActivities.error": _LIMIT})
    async with dev:
        yield await dev.connect()


async def _first_failed_task(handle: WorkflowHandle[Any, Any]) -> HistoryEvent:
    for _ in range(120):
        async for event in handle.fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                return event
        await asyncio.sleep(0.5)
    raise AssertionError("the workflow task never failed")


async def test_three_parallel_activities_under_a_cap_of_two_fail_the_task(
    limited: Client,
) -> None:
    tq = f"tq-{uuid.uuid4().hex[:10]}"
    async with Worker(
        limited, task_queue=tq, workflows=[ParallelActivitiesWorkflow], activities=[greet]
    ):
        handle = await limited.start_workflow(
            ParallelActivitiesWorkflow.run,
            "x",
            id=f"capped-{uuid.uuid4().hex[:8]}",
            task_queue=tq,
        )
        try:
            failed = await _first_failed_task(handle)
            history = [e async for e in handle.fetch_history_events()]
        finally:
            await handle.terminate("test over")
    attrs = failed.workflow_task_failed_event_attributes
    cause = WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_PENDING_ACTIVITIES_LIMIT_EXCEEDED
    assert attrs.cause == cause
    assert attrs.failure.message == (
        "PendingActivitiesLimitExceeded: the number of pending activities, 2, "
        "has reached the per-workflow limit of 2"
    )
    # The whole completion was discarded: no activity was ever scheduled.
    scheduled = [e for e in history if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED]
    assert scheduled == []
