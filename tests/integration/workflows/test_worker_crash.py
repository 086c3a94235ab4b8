"""A worker killed while it holds a workflow task: the task times out and another worker runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.worker import Worker

from helpers import eventually_async
from tests.integration.workflows.conftest import Server
from tests.workflows.handover import HandOverWorkflow

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.timeout(120)
async def test_killed_worker_task_is_handed_over_after_its_timeout(
    server: Server, tmp_path: Path
) -> None:
    tq = server.task_queue()
    marker = tmp_path / "holding"
    stuck = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.workflows.stuck_worker", server.target, tq],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        handle = await server.client.start_workflow(
            "HandOver",
            str(marker),
            id=f"handover-{uuid.uuid4()}",
            task_queue=tq,
            task_timeout=timedelta(seconds=2),
        )
        await eventually_async(marker.exists, timeout=60)
        stuck.kill()
        stuck.wait(10)
        async with Worker(server.client, task_queue=tq, workflows=[HandOverWorkflow]):
            assert await handle.result() == "handed over"
            history = await handle.fetch_history()
    finally:
        stuck.kill()
        stuck.wait(10)
    types = [e.event_type for e in history.events]
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT in types
    timed_out = next(
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT
    )
    assert timed_out.workflow_task_timed_out_event_attributes.timeout_type == 1  # START_TO_CLOSE
    assert [e.event_id for e in history.events] == list(range(1, len(history.events) + 1))
