"""ListClusters: this cluster and its remote clusters (``temporal operator cluster list``)."""

from __future__ import annotations

import asyncio

from temporalio.api.operatorservice.v1 import (
    ClusterMetadata,
    ListClustersRequest,
    ListClustersResponse,
)

from frontend.context import Call, Env
from frontend.errors import unavailable
from schemas.clusters import cluster_id


async def handle(env: Env, request: ListClustersRequest, call: Call) -> ListClustersResponse:
    """Lists the current cluster first, then the remote ones by name, in one page.

    Temporal's cluster metadata table holds the current cluster too, so it is listed; the
    handful of clusters of a replication group always fits one page.
    """
    try:
        remotes = await asyncio.to_thread(env.clusters.list)
    except (TimeoutError, RuntimeError) as err:
        raise unavailable(f"Unable to list clusters: {err}.") from None
    config = env.config
    current = ClusterMetadata(
        cluster_name=config.cluster_name,
        cluster_id=cluster_id(config.cluster_name),
        address=f"{config.host}:{config.port}",
        initial_failover_version=config.initial_failover_version,
        history_shard_count=config.history_shard_count,
        is_connection_enabled=True,
        is_replication_enabled=True,
    )
    listed = [current] + [
        ClusterMetadata(
            cluster_name=c.name,
            cluster_id=c.cluster_id,
            address=c.address,
            http_address=c.http_address,
            initial_failover_version=c.initial_failover_version,
            history_shard_count=c.history_shard_count,
            is_connection_enabled=c.connection_enabled,
            is_replication_enabled=c.replication_enabled,
        )
        for c in remotes
    ]
    return ListClustersResponse(clusters=listed)
