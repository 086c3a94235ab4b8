"""RemoveRemoteCluster: forgets a remote cluster (``temporal operator cluster remove``)."""

from __future__ import annotations

import asyncio

from temporalio.api.operatorservice.v1 import (
    RemoveRemoteClusterRequest,
    RemoveRemoteClusterResponse,
)

from frontend.context import Call, Env
from frontend.errors import failed_precondition, internal, not_found
from schemas.namespaces import State

ERR_NOT_FOUND = "The cluster to be deleted cannot be found in clusters cache."


async def handle(
    env: Env, request: RemoveRemoteClusterRequest, call: Call
) -> RemoveRemoteClusterResponse:
    """Removes a remote cluster no global namespace of this cluster still lists (Temporal's
    validateClusterNotInUseByNamespaces)."""
    name = request.cluster_name
    known = {c.name for c in await asyncio.to_thread(env.clusters.list)}
    if name not in known:
        raise not_found(ERR_NOT_FOUND)
    local = env.config.cluster_name
    for namespace in env.namespaces.list():
        live = namespace.is_global and namespace.state is not State.DELETED
        if live and local in namespace.clusters and name in namespace.clusters:
            raise failed_precondition(
                f'cannot remove cluster "{name}": still referenced by namespace "{namespace.name}"'
            )
    try:
        await asyncio.to_thread(env.clusters.remove, name)
    except (TimeoutError, RuntimeError) as err:
        raise internal(f"Unable to delete cluster info with error: {err}.") from None
    return RemoveRemoteClusterResponse()
