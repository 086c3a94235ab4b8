"""Strom's histories match the Temporal dev server's goldens and replay with the SDK's Replayer."""

from __future__ import annotations

import concurrent.futures
import uuid

import pytest
from temporalio.client import WorkflowFailureError, WorkflowHistory
from temporalio.worker import Replayer, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from strom.testing import StromEnvironment
from tests.golden.record_golden import CASES
from tests.unit.history.golden import load
from tests.workflows.catalog import ALL_ACTIVITIES, ALL_WORKFLOWS, SANDBOX_PASSTHROUGH

pytestmark = [pytest.mark.timeout(120)]

# Whether the second workflow task of parallel_activities starts before or after the other
# two activities complete depends on how fast a server dispatches it (the dev server takes
# about 40 ms, Strom about 5): both are Temporal histories, the golden has the slow one.
# staggered_activities runs parallel activities with a history that does not race.
TIMING_DEPENDENT = {"parallel_activities"}


@pytest.mark.parametrize("name", sorted(set(CASES) - TIMING_DEPENDENT))
async def test_history_matches_the_dev_servers_golden(
    strom_env: StromEnvironment, name: str
) -> None:
    workflow_cls, should_fail = CASES[name]
    tq = f"golden-{uuid.uuid4().hex[:8]}"
    runner = SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*SANDBOX_PASSTHROUGH)
    )
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        async with Worker(
            strom_env.client,
            task_queue=tq,
            workflows=ALL_WORKFLOWS,
            activities=ALL_ACTIVITIES,
            activity_executor=pool,
            workflow_runner=runner,
        ):
            handle = await strom_env.client.start_workflow(
                workflow_cls.run, "Strom", id=f"golden-{name}-{uuid.uuid4()}", task_queue=tq
            )
            if should_fail:
                with pytest.raises(WorkflowFailureError):
                    await handle.result()
            else:
                await handle.result()
            history = await handle.fetch_history()
    golden = load(name)
    assert [(e.event_id, e.event_type) for e in history.events] == [
        (e.event_id, e.event_type) for e in golden.events
    ]
    await Replayer(workflows=ALL_WORKFLOWS, workflow_runner=runner).replay_workflow(
        WorkflowHistory(handle.id, list(history.events))
    )
