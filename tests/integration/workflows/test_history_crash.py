"""Strom only: SIGKILL of the history processor mid-run, and a rebuild from a deleted RocksDB."""

from __future__ import annotations

import asyncio
import shutil
import signal
import time
import uuid

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.worker import Worker

from streams import RocksDBStore
from strom.testing import StromEnvironment
from tests.helpers import restored_partitions
from tests.workflows.activities import greet
from tests.workflows.one_activity import OneActivityWorkflow
from tests.workflows.parallel_activities import ParallelActivitiesWorkflow

pytestmark = [pytest.mark.timeout(240)]

_CLOSED = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
}


async def _assert_valid_history(handle: WorkflowHandle) -> None:
    events = (await handle.fetch_history()).events
    assert [e.event_id for e in events] == list(range(1, len(events) + 1)), handle.id
    assert events[0].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    assert events[-1].event_type in _CLOSED, handle.id
    assert sum(e.event_type in _CLOSED for e in events) == 1, handle.id


def _signal_history(env: StromEnvironment, sig: signal.Signals) -> None:
    process = env.services.processes["history"]
    process.send_signal(sig)
    process.wait(60)


def _log_size(env: StromEnvironment) -> int:
    return (env.services.log_dir / "history.log").stat().st_size


async def _until_every_shard_restored(env: StromEnvironment, log_from: int) -> None:
    """Waits until the history log, from byte `log_from` on, says each shard was restored.

    Restores run beside processing: one shard may serve a new workflow while another is still
    folding its changelog, and a stop in between would leave that store half restored.
    """
    log = env.services.log_dir / "history.log"
    deadline = time.monotonic() + 120
    while True:
        restored = restored_partitions(log, log_from)
        if restored >= set(range(env.services.topology.shards)):
            return
        assert time.monotonic() < deadline, f"shards never restored: {sorted(restored)}"
        await asyncio.sleep(0.5)


def _states(env: StromEnvironment) -> dict[bytes, bytes]:
    """Every current-run mutable state in the history stores (the processor must be stopped)."""
    states: dict[bytes, bytes] = {}
    stores = RocksDBStore(env.services.history_state_dir)
    for partition in range(env.services.topology.shards):
        part = stores.open_partition(partition)
        states.update(part.items(b"r", b"s"))
        part.close()
    return states


async def test_sigkill_of_the_history_processor_mid_run(strom_env: StromEnvironment) -> None:
    client = strom_env.client
    tq = f"crash-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client,
        task_queue=tq,
        workflows=[OneActivityWorkflow, ParallelActivitiesWorkflow],
        activities=[greet],
    ):
        handles = []
        for i in range(60):
            workflow = OneActivityWorkflow if i % 2 else ParallelActivitiesWorkflow
            handles.append(
                await client.start_workflow(
                    workflow.run, f"n{i}", id=f"crash-{i}-{uuid.uuid4()}", task_queue=tq
                )
            )
            if i == 30:
                _signal_history(strom_env, signal.SIGKILL)
                strom_env.services.respawn("history")
        results = await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), 180)
        assert len(results) == 60
        for handle in handles:
            await _assert_valid_history(handle)


async def test_deleting_rocksdb_rebuilds_the_same_mutable_state(
    strom_env: StromEnvironment,
) -> None:
    client = strom_env.client
    tq = f"rebuild-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=tq, workflows=[OneActivityWorkflow], activities=[greet]):
        for i in range(10):
            await client.execute_workflow(
                OneActivityWorkflow.run, f"n{i}", id=f"rebuild-{i}-{uuid.uuid4()}", task_queue=tq
            )
        _signal_history(strom_env, signal.SIGTERM)
        before = _states(strom_env)
        assert len(before) >= 10
        shutil.rmtree(strom_env.services.history_state_dir)
        log_from = _log_size(strom_env)
        strom_env.services.respawn("history")
        # The rebuilt shards serve new work, and the old runs' histories are intact.
        result = await client.execute_workflow(
            OneActivityWorkflow.run, "after", id=f"rebuild-after-{uuid.uuid4()}", task_queue=tq
        )
        assert result == "Hello, after!"
        await _until_every_shard_restored(strom_env, log_from)
    _signal_history(strom_env, signal.SIGTERM)
    after = _states(strom_env)
    strom_env.services.respawn("history")
    assert {k: after[k] for k in before} == before
