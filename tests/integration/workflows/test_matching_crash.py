"""Strom only: SIGKILL of the matching process while activities are being dispatched.

Matching reads its tasks again after a crash from the last committed progress; every task it
hands out must be recorded as started in history first, so no attempt reaches two workers
and no task is lost.
"""

from __future__ import annotations

import asyncio
import signal
import uuid

import pytest
from temporalio.worker import Worker

from helpers import eventually_async
from strom.testing import StromEnvironment
from tests.workflows.counted_activities import EXECUTIONS, counted_greet
from tests.workflows.counted_rounds import CountedRoundsWorkflow

# Generous: on a loaded machine the session's Strom may start inside this test.
pytestmark = [pytest.mark.timeout(540)]

N_WORKFLOWS = 60
ACTIVITIES_PER_WORKFLOW = 4


def _kill_matching(env: StromEnvironment) -> None:
    process = env.services.processes["matching"]
    process.send_signal(signal.SIGKILL)
    process.wait(60)
    env.services.respawn("matching")


async def test_sigkill_of_matching_runs_no_attempt_twice_and_loses_no_task(
    strom_env: StromEnvironment,
) -> None:
    client = strom_env.client
    tq = f"matching-crash-{uuid.uuid4().hex[:8]}"
    prefix = f"mc-{uuid.uuid4().hex[:6]}"
    mine = lambda: {k: n for k, n in EXECUTIONS.items() if k[0].startswith(prefix)}  # noqa: E731
    # Eager activities would skip matching: every activity goes through the tasks topic here.
    async with Worker(
        client,
        task_queue=tq,
        workflows=[CountedRoundsWorkflow],
        activities=[counted_greet],
        disable_eager_activity_execution=True,
        max_concurrent_activities=20,
    ):

        async def kill_twice() -> None:
            # Each kill while activities are being handed out: the second only once the
            # restarted process has dispatched more than the worker can have had in flight.
            base = 0
            for _ in range(2):
                await eventually_async(lambda b=base: len(mine()) >= b + 30, timeout=120)
                _kill_matching(strom_env)
                base = len(mine())

        killing = asyncio.create_task(kill_twice())
        handles = [
            await client.start_workflow(
                CountedRoundsWorkflow.run, f"n{i}", id=f"{prefix}-{i}", task_queue=tq
            )
            for i in range(N_WORKFLOWS)
        ]
        await killing
        results = await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), 240)
    for i, result in enumerate(results):
        assert result == " ".join(f"Hello, n{i}-{r}{a}!" for r in range(2) for a in range(2))
    executions = mine()
    twice = {k: n for k, n in executions.items() if n > 1}
    assert not twice, f"attempts that ran more than once: {twice}"
    # Every activity ran (an attempt lost with a crash is retried after its timeout).
    assert len({(wf, act) for wf, act, _ in executions}) == N_WORKFLOWS * ACTIVITIES_PER_WORKFLOW
