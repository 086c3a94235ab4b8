"""The replication tests' two clusters: a second Kafka broker, and the pair of Strom clusters
with a replicator on each side, shared by every test module of this package."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.api.operatorservice.v1 import AddOrUpdateRemoteClusterRequest
from temporalio.api.replication.v1 import ClusterReplicationConfig
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest

from strom._devserver import KafkaNode, free_port
from strom._devserver.process import stop_tree
from strom.testing import StromEnvironment
from tests.integration.replication.clusters import Pair


@pytest.fixture(scope="package")
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


@pytest_asyncio.fixture(scope="package")
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
