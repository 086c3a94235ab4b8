"""UpdateNamespace: description, owner, data, state, retention and archival of a namespace
(``temporal operator namespace update``)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from temporalio.api.enums.v1 import NamespaceState
from temporalio.api.replication.v1 import ClusterReplicationConfig
from temporalio.api.workflowservice.v1 import UpdateNamespaceRequest, UpdateNamespaceResponse

from frontend import errors, namespace_rules, namespace_store
from frontend.context import Call, Env, require_namespace
from frontend.rpc.describe_namespace import describe
from schemas.clusters import FAILOVER_VERSION_INCREMENT, next_failover_version
from schemas.namespaces import Namespace

ERR_FAILOVER_AND_UPDATE = (
    "Cannot set active cluster to current cluster when other parameters are set."
)


async def handle(env: Env, request: UpdateNamespaceRequest, call: Call) -> UpdateNamespaceResponse:
    """Applies the fields the request sets, as Temporal's namespace handler does.

    Empty strings keep the old description and owner; ``data`` is merged key by key. A
    change bumps the record's version (Temporal's config version) and is written to the
    namespaces topic; a request that changes nothing writes nothing. The answer is the
    namespace as it is now.
    """
    namespace_rules.check_name(request.namespace, env.config.max_id_length)
    old = require_namespace(env, request.namespace)
    if request.promote_namespace:
        raise errors.invalid_argument(
            "global namespace is not enabled on this cluster, cannot update global namespace "
            f"or promote local namespace: {request.namespace}"
        )
    updated = _apply_config(env, _apply_info(old, request), request)
    if request.delete_bad_binary:
        # Strom keeps no bad binaries, so every checksum is unknown, as Temporal answers.
        raise errors.invalid_argument(
            f"Bad binary checksum {request.delete_bad_binary} doesn't exists."
        )
    if request.HasField("replication_config") and old.is_global:
        updated = await _replicate(env, old, updated, request)
    elif request.HasField("replication_config"):
        namespace_rules.check_clusters(
            env.config.cluster_name,
            request.replication_config.active_cluster_name,
            request.replication_config.clusters,
        )
    if updated != old:
        updated = await namespace_store.write(env, updated, "update")
    described = describe(updated, env.config)
    return UpdateNamespaceResponse(
        namespace_info=described.namespace_info,
        config=described.config,
        replication_config=described.replication_config,
        failover_version=described.failover_version,
        is_global_namespace=described.is_global_namespace,
    )


async def _replicate(
    env: Env, old: Namespace, updated: Namespace, request: UpdateNamespaceRequest
) -> Namespace:
    """A global namespace's new clusters or active cluster (a failover), Temporal's rules.

    A failover moves the namespace to the next failover version the new active cluster
    owns, and may not be combined with other changes. It is written to this cluster's
    record: the cluster that becomes active starts deciding for the namespace (its history
    leaves standby mode and takes over the pending work) and its replicator stops applying
    the old active cluster's batches.
    """
    config = request.replication_config
    remotes = {c.name: c for c in await asyncio.to_thread(env.clusters.list)}
    enabled = [name for name, c in remotes.items() if c.connection_enabled]
    requested = config.clusters or [
        ClusterReplicationConfig(cluster_name=name) for name in old.clusters
    ]
    active, clusters = namespace_rules.global_replication(
        env.config.cluster_name,
        enabled,
        config.active_cluster_name or old.active_cluster,
        requested,
    )
    failing_over = active != old.active_cluster
    if failing_over and updated != old:
        raise errors.invalid_argument(ERR_FAILOVER_AND_UPDATE)
    version = old.failover_version
    if failing_over:
        initial = (
            env.config.initial_failover_version
            if active == env.config.cluster_name
            else remotes[active].initial_failover_version
        )
        version = next_failover_version(initial, version, FAILOVER_VERSION_INCREMENT)
    return replace(updated, active_cluster=active, clusters=clusters, failover_version=version)


def _apply_info(namespace: Namespace, request: UpdateNamespaceRequest) -> Namespace:
    if not request.HasField("update_info"):
        return namespace
    info = request.update_info
    changes: dict[str, object] = {}
    if info.description:
        changes["description"] = info.description
    if info.owner_email:
        changes["owner_email"] = info.owner_email
    if info.data:
        merged = {**namespace.data, **info.data}
        namespace_rules.check_data(merged)
        changes["data"] = merged
    if info.state != NamespaceState.NAMESPACE_STATE_UNSPECIFIED:
        state = namespace_rules.state_of(info.state)
        namespace_rules.check_state_change(namespace.state, state)
        changes["state"] = state
    return replace(namespace, **changes)  # type: ignore[arg-type]


def _apply_config(env: Env, namespace: Namespace, request: UpdateNamespaceRequest) -> Namespace:
    if not request.HasField("config"):
        return namespace
    config = request.config
    if config.HasField("bad_binaries") and config.bad_binaries.binaries:
        raise errors.invalid_argument("Strom does not support bad binaries.")
    if config.custom_search_attribute_aliases:
        raise errors.invalid_argument(
            "Strom does not support custom search attribute aliases: its Elasticsearch "
            "index uses the attribute names."
        )
    retention_ms = namespace.retention_ms
    if config.HasField("workflow_execution_retention_ttl"):
        retention_ms = namespace_rules.retention_ms(
            config.workflow_execution_retention_ttl, env.config.namespace_min_retention_ms
        )
    history = namespace_rules.next_archival(
        namespace.history_archival_state,
        namespace.history_archival_uri,
        config.history_archival_state,
        config.history_archival_uri,
    )
    visibility = namespace_rules.next_archival(
        namespace.visibility_archival_state,
        namespace.visibility_archival_uri,
        config.visibility_archival_state,
        config.visibility_archival_uri,
    )
    return replace(
        namespace,
        retention_ms=retention_ms,
        history_archival_state=history[0],
        history_archival_uri=history[1],
        visibility_archival_state=visibility[0],
        visibility_archival_uri=visibility[1],
    )
