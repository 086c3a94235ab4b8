"""AddOrUpdateRemoteCluster: records a remote cluster (``temporal operator cluster upsert``)."""

from __future__ import annotations

import asyncio

import grpc
from temporalio.api.operatorservice.v1 import (
    AddOrUpdateRemoteClusterRequest,
    AddOrUpdateRemoteClusterResponse,
)
from temporalio.api.workflowservice.v1 import GetClusterInfoRequest, GetClusterInfoResponse
from temporalio.api.workflowservice.v1.service_pb2_grpc import WorkflowServiceStub

from frontend.config import FrontendConfig
from frontend.context import Call, Env
from frontend.errors import internal, invalid_argument, unavailable
from schemas.clusters import FAILOVER_VERSION_INCREMENT, RemoteCluster

_CONNECT_TIMEOUT_S = 10.0
ERR_UNABLE_TO_CONNECT = "Unable connect to remote cluster {address} with error: {error}."
ERR_INVALID_REMOTE = "Unable connect to remote cluster with invalid config: {error}."


async def handle(
    env: Env, request: AddOrUpdateRemoteClusterRequest, call: Call
) -> AddOrUpdateRemoteClusterResponse:
    """Asks the remote frontend who it is, checks it as Temporal does, and stores it.

    Temporal asks the remote AdminService's DescribeCluster; Strom asks the public
    GetClusterInfo, which carries the same facts (name, id, shard count, failover versions).
    """
    address = request.frontend_address
    if not address:
        raise invalid_argument("FrontendAddress is not set on request.")
    info = await _remote_info(address)
    known = await asyncio.to_thread(env.clusters.list)
    check_remote(env.config, info, known)
    cluster = RemoteCluster(
        name=info.cluster_name,
        cluster_id=info.cluster_id,
        address=address,
        http_address=request.frontend_http_address,
        initial_failover_version=info.initial_failover_version,
        failover_version_increment=info.failover_version_increment,
        history_shard_count=info.history_shard_count,
        connection_enabled=request.enable_remote_cluster_connection,
        replication_enabled=request.enable_replication,
    )
    try:
        await asyncio.to_thread(env.clusters.put, cluster)
    except (TimeoutError, RuntimeError) as err:
        raise internal(f"Unable to persist cluster info with error: {err}.") from None
    return AddOrUpdateRemoteClusterResponse()


def check_remote(
    config: FrontendConfig, info: GetClusterInfoResponse, known: list[RemoteCluster]
) -> None:
    """Temporal's validateRemoteClusterMetadata: the remote may join this cluster's group.

    Raises:
        ServiceError: INVALID_ARGUMENT with Temporal's message when it may not.
    """
    problem = _problem(config, info, known)
    if problem:
        raise invalid_argument(ERR_INVALID_REMOTE.format(error=problem))


def _problem(
    config: FrontendConfig, info: GetClusterInfoResponse, known: list[RemoteCluster]
) -> str:
    if info.cluster_name == config.cluster_name:
        return "Cannot update current cluster metadata from rpc calls"
    if info.failover_version_increment != FAILOVER_VERSION_INCREMENT:
        return "Cannot add remote cluster due to failover version increment mismatch"
    if info.history_shard_count <= 0:
        return "Remote cluster HistoryShardCount must be positive"
    local = config.history_shard_count
    if local > 0 and info.history_shard_count != local:
        small, large = sorted((local, info.history_shard_count))
        if large % small:
            return "Remote cluster shard number and local cluster shard number are not multiples."
    versions = {config.cluster_name: config.initial_failover_version}
    versions.update({c.name: c.initial_failover_version for c in known})
    for name, version in versions.items():
        if name != info.cluster_name and version == info.initial_failover_version:
            return "Cannot add remote cluster due to initial failover version conflict"
    if not 0 <= info.initial_failover_version < FAILOVER_VERSION_INCREMENT:
        return "Remote cluster initial failover version must be below the increment"
    return ""


async def _remote_info(address: str) -> GetClusterInfoResponse:
    """The remote frontend's GetClusterInfo; UNAVAILABLE when it cannot be asked."""
    try:
        async with grpc.aio.insecure_channel(address) as channel:
            stub = WorkflowServiceStub(channel)
            return await stub.GetClusterInfo(GetClusterInfoRequest(), timeout=_CONNECT_TIMEOUT_S)
    except (grpc.RpcError, ValueError) as err:
        detail = err.details() if isinstance(err, grpc.aio.AioRpcError) else str(err)
        raise unavailable(ERR_UNABLE_TO_CONNECT.format(address=address, error=detail)) from None
