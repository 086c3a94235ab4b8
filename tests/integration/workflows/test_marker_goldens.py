"""Strom's histories of the marker, memo, search attribute and eager start cases match the
dev server's goldens (tests/golden/marker_cases.py) and replay with the SDK's Replayer."""

from __future__ import annotations

import uuid

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, Worker

from strom.testing import StromEnvironment
from tests.golden.marker_cases import MARKER_CASES
from tests.unit.history.golden import load
from tests.workflows.activities import greet, greet_after
from tests.workflows.markers import MARKER_WORKFLOWS

pytestmark = [pytest.mark.timeout(120)]

# How many times a worker heartbeats its task while a local activity runs depends on how long
# the activity really takes on a loaded machine; tests/unit/history/test_golden.py compares
# that case exactly and test_markers.py checks its shape on both servers.
TIMING_DEPENDENT = {"local_activity_heartbeat"}


@pytest.mark.parametrize("name", sorted(set(MARKER_CASES) - TIMING_DEPENDENT))
async def test_history_matches_the_dev_servers_golden(
    strom_env: StromEnvironment, name: str
) -> None:
    client = strom_env.client
    tq = f"golden-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client, task_queue=tq, workflows=MARKER_WORKFLOWS, activities=[greet, greet_after]
    ):
        handle = await MARKER_CASES[name](client, f"golden-{name}-{uuid.uuid4()}", tq)
        await handle.result()
        history = await handle.fetch_history()
    golden = load(name)
    assert [(e.event_id, e.event_type) for e in history.events] == [
        (e.event_id, e.event_type) for e in golden.events
    ]
    await Replayer(workflows=MARKER_WORKFLOWS).replay_workflow(
        WorkflowHistory(handle.id, list(history.events))
    )
