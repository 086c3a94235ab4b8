"""GetClusterInfo: what the CLI and UI show about the cluster."""

from __future__ import annotations

import uuid

from temporalio.api.workflowservice.v1 import GetClusterInfoRequest, GetClusterInfoResponse

from frontend.context import Call, Env
from schemas.clusters import FAILOVER_VERSION_INCREMENT, KAFKA_BOOTSTRAP_HEADER

# Client versions Temporal Server 1.32 declares supported; clients compare against it.
_SUPPORTED_CLIENTS = {
    "temporal-go": "<2.0.0",
    "temporal-java": "<2.0.0",
    "temporal-php": "<2.0.0",
    "temporal-typescript": "<2.0.0",
    "temporal-cli": "<2.0.0",
    "temporal-server": "<2.0.0",
    "temporal-ui": "<3.0.0",
}


async def handle(env: Env, request: GetClusterInfoRequest, call: Call) -> GetClusterInfoResponse:
    """Describes the cluster; its id is derived from the cluster name, so it is stable.

    Strom adds its Kafka bootstrap as the response header `KAFKA_BOOTSTRAP_HEADER`: a remote
    cluster's replicator reads this cluster's events topic there (`replicator.service`).
    """
    config = env.config
    if env.clusters.bootstrap:
        call.headers.append((KAFKA_BOOTSTRAP_HEADER, env.clusters.bootstrap))
    return GetClusterInfoResponse(
        supported_clients=_SUPPORTED_CLIENTS,
        server_version=config.server_version,
        cluster_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"strom://{config.cluster_name}")),
        cluster_name=config.cluster_name,
        history_shard_count=config.history_shard_count,
        persistence_store="kafka",
        visibility_store="elasticsearch",
        initial_failover_version=config.initial_failover_version,
        failover_version_increment=FAILOVER_VERSION_INCREMENT,
    )
