"""RegisterNamespace: a new namespace on the namespaces topic (`namespace create`)."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest, RegisterNamespaceResponse

from frontend import errors, namespace_rules, namespace_store
from frontend.context import Call, Env
from schemas.clusters import FAILOVER_VERSION_INCREMENT, RemoteCluster, next_failover_version
from schemas.namespaces import ARCHIVAL_DISABLED, Namespace, fresh_namespace_id


async def handle(
    env: Env, request: RegisterNamespaceRequest, call: Call
) -> RegisterNamespaceResponse:
    """Registers a local or global namespace; Temporal's checks in Temporal's order.

    A name in use answers ALREADY_EXISTS (NamespaceAlreadyExistsFailure); a deleted namespace
    no longer holds its name (it was renamed), so the name can be registered again.
    """
    namespace_rules.check_name(request.namespace, env.config.max_id_length)
    # Temporal's clusters enable global namespaces by configuration; a Strom cluster does
    # once it has a remote cluster to replicate with, so a lone cluster answers as the
    # dev server does.
    remotes = await asyncio.to_thread(env.clusters.list) if request.is_global_namespace else []
    if request.is_global_namespace and not remotes:
        raise errors.invalid_argument("Cannot register global namespace when not enabled")
    retention = namespace_rules.retention_ms(
        request.workflow_execution_retention_period
        if request.HasField("workflow_execution_retention_period")
        else None,
        env.config.namespace_min_retention_ms,
    )
    if env.namespaces.get(request.namespace) is not None:
        raise errors.namespace_already_exists(request.namespace)
    history_state, history_uri = namespace_rules.next_archival(
        ARCHIVAL_DISABLED, "", request.history_archival_state, request.history_archival_uri
    )
    visibility_state, visibility_uri = namespace_rules.next_archival(
        ARCHIVAL_DISABLED, "", request.visibility_archival_state, request.visibility_archival_uri
    )
    replication = _replication(env, request, remotes)
    namespace_rules.check_data(request.data)
    namespace = Namespace(
        name=request.namespace,
        id=fresh_namespace_id(env.namespaces.get_by_id, env.config.cluster_name, request.namespace),
        description=request.description,
        owner_email=request.owner_email,
        retention_ms=retention,
        data=dict(request.data),
        history_archival_state=history_state,
        history_archival_uri=history_uri,
        visibility_archival_state=visibility_state,
        visibility_archival_uri=visibility_uri,
        **replication,
    )
    await namespace_store.write(env, namespace, "register")
    return RegisterNamespaceResponse()


def _replication(
    env: Env, request: RegisterNamespaceRequest, known: list[RemoteCluster]
) -> dict[str, Any]:
    """The replication fields of the new namespace's record, checked as Temporal does.

    A global namespace starts at the failover version its active cluster owns; this
    cluster's record then names it, so the replicator of every listed cluster copies it.
    """
    config = env.config
    if not request.is_global_namespace:
        namespace_rules.check_clusters(
            config.cluster_name, request.active_cluster_name, request.clusters
        )
        return {}
    remotes = {c.name: c for c in known}
    enabled = [name for name, c in remotes.items() if c.connection_enabled]
    active, clusters = namespace_rules.global_replication(
        config.cluster_name, enabled, request.active_cluster_name, request.clusters
    )
    initial = (
        config.initial_failover_version
        if active == config.cluster_name
        else remotes[active].initial_failover_version
    )
    return {
        "is_global": True,
        "active_cluster": active,
        "clusters": clusters,
        "failover_version": next_failover_version(initial, 0, FAILOVER_VERSION_INCREMENT),
    }
