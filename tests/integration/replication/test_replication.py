"""Two Strom clusters on two Kafka brokers: a global namespace replicated both ways.

The active cluster runs on the session's broker, the standby on a second broker (`conftest`);
both index into the session's Elasticsearch, each under its own index prefix. A replicator
runs on each side: the standby's is given the active's Kafka by flags, the active's finds the
standby through its remote-cluster record, as `strom server start-dev` runs it. A workflow
completes on the active cluster with the official SDK; the standby's frontend then serves the
same history, event for event, finds the run in Describe and List, and forgets a run the
active cluster deleted; the replicator reports its lag. A cluster added to a namespace gets
its running workflows whole, and a history restarted while standby still takes over.
"""

from __future__ import annotations

import asyncio
import urllib.request
import uuid

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.replication.v1 import ClusterReplicationConfig, NamespaceReplicationConfig
from temporalio.api.workflowservice.v1 import (
    DeleteWorkflowExecutionRequest,
    DescribeNamespaceRequest,
    RegisterNamespaceRequest,
    UpdateNamespaceRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from helpers import eventually_async
from streams.readers import read_to_end
from tests.integration.replication.clusters import (
    WAIT_S,
    Pair,
    client,
    completed_tasks,
    fail_over,
    register_global,
    same_history,
)
from tests.integration.sdk import kafka_tools_workflows
from tests.workflows.activities import greet
from tests.workflows.signal_collector import SignalCollectorWorkflow

pytestmark = [pytest.mark.timeout(600)]


async def test_standby_serves_the_active_clusters_history_and_visibility(pair: Pair) -> None:
    standby_names = pair.standby.services.topology.prefix

    async def replicated_namespace() -> bool:
        described = await pair.standby.client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=pair.namespace)
        )
        config = described.replication_config
        return described.is_global_namespace and config.active_cluster_name != standby_names

    await eventually_async(replicated_namespace, WAIT_S, 0.5, retry_on=(RPCError,))

    active = await client(pair.active, pair.namespace)
    standby = await client(pair.standby, pair.namespace)
    workflow_id = f"greet-{uuid.uuid4().hex[:8]}"
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    async with Worker(
        active,
        task_queue=task_queue,
        workflows=[kafka_tools_workflows.Greeting],
        activities=[greet],
    ):
        result = await active.execute_workflow(
            kafka_tools_workflows.Greeting.run, "standby", id=workflow_id, task_queue=task_queue
        )
    assert result == "Hello, standby!"
    expected = await active.get_workflow_handle(workflow_id).fetch_history()
    assert {event.version for event in expected.events} == {1}  # the active cluster's version

    async def same_history() -> bool:
        replicated = await standby.get_workflow_handle(workflow_id).fetch_history()
        return list(replicated.events) == list(expected.events)

    await eventually_async(same_history, WAIT_S, 0.5, retry_on=(RPCError, AssertionError))

    described = await standby.get_workflow_handle(workflow_id).describe()
    assert described.status is not None
    assert described.status.value == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED

    async def listed() -> bool:
        found = [w async for w in standby.list_workflows(f'WorkflowId = "{workflow_id}"')]
        return len(found) == 1 and found[0].status == described.status

    await eventually_async(listed, WAIT_S, 0.5)

    # The standby decides nothing for the namespace: a start is refused, as Temporal does.
    with pytest.raises(RPCError) as refused:
        await standby.start_workflow(
            kafka_tools_workflows.Greeting.run, "no", id=f"{workflow_id}-2", task_queue=task_queue
        )
    assert refused.value.status == RPCStatusCode.FAILED_PRECONDITION
    assert "is a standby cluster" in refused.value.message

    def lag_reported() -> bool:
        with urllib.request.urlopen(pair.replicator_metrics, timeout=5) as response:
            text = response.read().decode()
        counts = [
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("replication_lag_count{")
        ]
        return bool(counts) and max(counts) > 0 and "replication_tasks_lag{" in text

    await eventually_async(lag_reported, 60, 0.5, retry_on=(AssertionError, OSError))
    with urllib.request.urlopen(pair.replicator_metrics, timeout=5) as response:
        samples = _samples(response.read().decode(), "replication_lag_")
    # The closing note of the replication work quotes this (pytest -rP shows it).
    print(
        f"replication lag: {samples['sum'] / samples['count']:.3f} s mean over "
        f"{samples['count']:.0f} batches"
    )

    # A run deleted on the active cluster is deleted on the standby too, visibility included.
    await active.workflow_service.delete_workflow_execution(
        DeleteWorkflowExecutionRequest(
            namespace=pair.namespace, workflow_execution=WorkflowExecution(workflow_id=workflow_id)
        )
    )

    async def deleted_on_the_standby() -> bool:
        try:
            await standby.get_workflow_handle(workflow_id).describe()
        except RPCError as err:
            return err.status == RPCStatusCode.NOT_FOUND
        return False

    await eventually_async(deleted_on_the_standby, WAIT_S, 0.5)

    async def unlisted() -> bool:
        return not [w async for w in standby.list_workflows(f'WorkflowId = "{workflow_id}"')]

    await eventually_async(unlisted, WAIT_S, 0.5)


def _samples(text: str, prefix: str) -> dict[str, float]:
    """The ``<prefix>sum`` and ``<prefix>count`` samples of a metrics page, summed over labels."""
    out = {"sum": 0.0, "count": 0.0}
    for line in text.splitlines():
        for suffix in out:
            if line.startswith(f"{prefix}{suffix}{{"):
                out[suffix] += float(line.rsplit(" ", 1)[1])
    return out


async def test_a_cluster_added_to_a_namespace_gets_its_running_workflows_whole(
    pair: Pair,
) -> None:
    """A gap is re-requested: the standby refuses the first batch of a run it never saw (its
    namespace did not list it when the run started), dead-letters it, and the replicator reads
    the source partition again, so the standby ends with the whole history."""
    a, b = pair.active, pair.standby
    namespace = f"grows-{uuid.uuid4().hex[:6]}"
    await a.client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=namespace,
            workflow_execution_retention_period={"seconds": 86400},  # type: ignore[arg-type]
            is_global_namespace=True,
            clusters=[ClusterReplicationConfig(cluster_name=a.services.topology.prefix)],
        )
    )
    on_a = await client(a, namespace)
    workflow_id = f"grows-{uuid.uuid4().hex[:8]}"
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    async with Worker(on_a, task_queue=task_queue, workflows=[SignalCollectorWorkflow]):
        handle = await on_a.start_workflow(
            SignalCollectorWorkflow.run, 1, id=workflow_id, task_queue=task_queue
        )
        await eventually_async(lambda: completed_tasks(on_a, workflow_id, 1), WAIT_S, 0.5)
        # The standby's replicator has read (and skipped) the run's batches so far.
        key = f"{namespace}/{workflow_id}/".encode()
        await eventually_async(lambda: asyncio.to_thread(_read_past, pair, key), WAIT_S, 0.5)
        await a.client.workflow_service.update_namespace(
            UpdateNamespaceRequest(
                namespace=namespace,
                replication_config=NamespaceReplicationConfig(
                    clusters=[
                        ClusterReplicationConfig(cluster_name=a.services.topology.prefix),
                        ClusterReplicationConfig(cluster_name=b.services.topology.prefix),
                    ]
                ),
            )
        )
        await eventually_async(
            lambda: b.client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=namespace)
            ),
            WAIT_S,
            0.5,
            retry_on=(RPCError,),
        )
        await handle.signal(SignalCollectorWorkflow.add, "late")
        assert await handle.result() == ["late"]
    expected = await handle.fetch_history()
    on_b = await client(b, namespace)
    await eventually_async(
        lambda: same_history(on_b, workflow_id, expected),
        WAIT_S,
        0.5,
        retry_on=(RPCError, AssertionError),
    )

    def rerequested() -> bool:
        with urllib.request.urlopen(pair.replicator_metrics, timeout=5) as response:
            text = response.read().decode()
        return any(
            line.startswith("replication_rerequests_total{") and float(line.rsplit(" ", 1)[1]) > 0
            for line in text.splitlines()
        )

    assert await asyncio.to_thread(rerequested)


async def _history_answers(client: Client) -> bool:
    """Whether the cluster's history answers a read (NOT_FOUND for a run that never was)."""
    try:
        await client.get_workflow_handle(f"absent-{uuid.uuid4().hex}").describe()
    except RPCError as err:
        return err.status == RPCStatusCode.NOT_FOUND
    return False


def _read_past(pair: Pair, key_prefix: bytes) -> bool:
    """Whether the standby's replicator has read past every batch of the active cluster's
    events topic whose key starts with ``key_prefix`` (its committed positions)."""
    source = pair.active.services.topology
    last: dict[int, int] = {}
    for partition in range(source.shards):
        for msg in read_to_end(pair.active_kafka, source.events, partition, 30):
            if (msg.key() or b"").startswith(key_prefix):
                last[partition] = msg.offset()
    progress: dict[int, int] = {}
    topic = pair.standby.services.topology.replication_progress(source.prefix)
    for msg in read_to_end(pair.standby_kafka, topic, 0, 30):
        key, value = msg.key() or b"", msg.value()
        if key.isdigit() and value is not None:
            progress[int(key)] = int(value)
    return bool(last) and all(progress.get(p, 0) > offset for p, offset in last.items())


async def test_a_history_restarted_while_standby_takes_over_after_the_failover(
    pair: Pair,
) -> None:
    """A workflow task scheduled on A, never started there, is dispatched by B after the
    failover although B's history restarted between the standby period and the failover."""
    a, b = pair.active, pair.standby
    namespace = f"restart-{uuid.uuid4().hex[:6]}"
    await register_global(a, b, namespace)
    on_a, on_b = await client(a, namespace), await client(b, namespace)
    workflow_id = f"restart-{uuid.uuid4().hex[:8]}"
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    # No worker on A: the first workflow task stays scheduled, never started.
    handle = await on_a.start_workflow(
        kafka_tools_workflows.Greeting.run, "B", id=workflow_id, task_queue=task_queue
    )
    expected = await handle.fetch_history()
    await eventually_async(
        lambda: same_history(on_b, workflow_id, expected),
        WAIT_S,
        0.5,
        retry_on=(RPCError, AssertionError),
    )

    await asyncio.to_thread(b.services.stop_service, "history")
    await asyncio.to_thread(b.services.respawn, "history")
    # Nothing of the namespace reaches the restarted history before the failover (that
    # would tell it again that it serves the namespace as standby): only its store can.
    other = await client(b, pair.namespace)
    await eventually_async(lambda: _history_answers(other), WAIT_S, 0.5)
    assert await fail_over(b, namespace, b) == 2

    async with Worker(
        on_b,
        task_queue=task_queue,
        workflows=[kafka_tools_workflows.Greeting],
        activities=[greet],
    ):
        result = await asyncio.wait_for(
            on_b.get_workflow_handle(workflow_id).result(), timeout=WAIT_S
        )
    assert result == "Hello, B!"
