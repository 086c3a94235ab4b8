"""Strom only: the layout `strom server start-dev` runs, matching inside the frontend's process.

The frontend's matching member owns the tasks partitions, polls reach it in-process, and a
SIGKILL of that one process (frontend and matching at once) runs no attempt twice and loses
no task.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio.worker import Worker

from helpers import eventually_async
from schemas.clients.matching import MatchingDirectory
from strom.testing import StromEnvironment
from tests.workflows.counted_activities import EXECUTIONS, counted_greet
from tests.workflows.counted_rounds import CountedRoundsWorkflow

pytestmark = [pytest.mark.timeout(900)]

N_WORKFLOWS = 40
ACTIVITIES_PER_WORKFLOW = 4
# How long a wave may take to progress after a restart. Seen here: a poll the SDK worker sends
# while the frontend restarts can stay unanswered on the worker's side until the SDK's 70 s
# poll timeout (the restarted frontend saw that call cancelled within seconds), and the
# worker's only normal-queue workflow poller is idle for that long.
PROGRESS_S = 240


@pytest_asyncio.fixture(scope="module")
async def env(
    kafka_bootstrap: str, es_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[StromEnvironment]:
    started = await StromEnvironment.start(
        kafka_bootstrap=kafka_bootstrap,
        es_url=es_url,
        data_dir=tmp_path_factory.mktemp("strom-colocated"),
        matching_in_frontend=True,
    )
    try:
        yield started
    finally:
        await started.shutdown()


def _expected(name: str) -> str:
    return " ".join(f"Hello, {name}-{r}{a}!" for r in range(2) for a in range(2))


async def test_the_frontends_member_owns_every_tasks_partition_and_serves_the_polls(
    env: StromEnvironment, kafka_bootstrap: str
) -> None:
    assert "matching" not in env.services.processes
    directory = MatchingDirectory(kafka_bootstrap, env.services.topology.prefix)

    async def one_owner() -> set[str]:
        owners = await directory.refresh()
        complete = len(owners) == env.services.topology.task_partitions
        return set(owners.values()) if complete else set()

    [address] = await eventually_async(one_owner, timeout=60, interval=0.5)
    assert address.startswith("127.0.0.1:")
    tq = f"colocated-{uuid.uuid4().hex[:8]}"
    # No eager activities: each one is dispatched by matching from the tasks topic.
    async with Worker(
        env.client,
        task_queue=tq,
        workflows=[CountedRoundsWorkflow],
        activities=[counted_greet],
        disable_eager_activity_execution=True,
    ):
        result = await env.client.execute_workflow(
            CountedRoundsWorkflow.run, "one", id=f"colocated-{uuid.uuid4().hex}", task_queue=tq
        )
    assert result == _expected("one")


async def test_sigkill_of_the_frontend_runs_no_attempt_twice_and_loses_no_task(
    env: StromEnvironment,
) -> None:
    client = env.client
    tq = f"colocated-crash-{uuid.uuid4().hex[:8]}"
    prefix = f"cc-{uuid.uuid4().hex[:6]}"

    def executions(wave: str = "") -> dict[tuple[str, str, int], int]:
        return {k: n for k, n in EXECUTIONS.items() if k[0].startswith(f"{prefix}-{wave}")}

    def kill_frontend() -> None:
        process = env.services.processes["frontend"]
        process.send_signal(signal.SIGKILL)
        process.wait(60)
        env.services.respawn("frontend")
        env.services.wait_ready()

    handles = []
    async with Worker(
        client,
        task_queue=tq,
        workflows=[CountedRoundsWorkflow],
        activities=[counted_greet],
        disable_eager_activity_execution=True,
        max_concurrent_activities=20,
    ):
        # Two waves, one kill each while the wave's activities are being handed out: the
        # second wave's work is still to do when the restarted process is killed again, however
        # far the worker got with the first (the client retries its starts while it is down).
        for wave in ("a", "b"):
            handles += [
                await client.start_workflow(
                    CountedRoundsWorkflow.run, f"{wave}{i}", id=f"{prefix}-{wave}{i}", task_queue=tq
                )
                for i in range(N_WORKFLOWS // 2)
            ]
            await eventually_async(lambda w=wave: len(executions(w)) >= 20, timeout=PROGRESS_S)
            await asyncio.to_thread(kill_frontend)
        results = await asyncio.wait_for(
            asyncio.gather(*(h.result() for h in handles)), PROGRESS_S + 60
        )
    names = [f"{wave}{i}" for wave in ("a", "b") for i in range(N_WORKFLOWS // 2)]
    assert results == [_expected(name) for name in names]
    ran = executions()
    twice = {k: n for k, n in ran.items() if n > 1}
    assert not twice, f"attempts that ran more than once: {twice}"
    # Every activity ran (an attempt lost with the crash is retried after its timeout).
    assert len({(wf, act) for wf, act, _ in ran}) == N_WORKFLOWS * ACTIVITIES_PER_WORKFLOW
