"""DescribeNamespace: one namespace by name or id, in Temporal's shape."""

from __future__ import annotations

from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import ReplicationState
from temporalio.api.namespace.v1 import BadBinaries, NamespaceConfig, NamespaceInfo
from temporalio.api.replication.v1 import ClusterReplicationConfig, NamespaceReplicationConfig
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, DescribeNamespaceResponse

from frontend import errors
from frontend.config import FrontendConfig
from frontend.context import Call, Env
from frontend.namespace_rules import archival_proto
from schemas.namespaces import Namespace


async def handle(
    env: Env, request: DescribeNamespaceRequest, call: Call
) -> DescribeNamespaceResponse:
    """Finds the namespace by id when given, else by name; NOT_FOUND names what was asked."""
    if not request.id and not request.namespace:
        raise errors.invalid_argument("Namespace not set on request.")
    if request.id:
        namespace = env.namespaces.get_by_id(request.id)
        missing = request.id
    else:
        namespace = env.namespaces.get(request.namespace)
        missing = request.namespace
    if namespace is None:
        raise errors.namespace_not_found(missing)
    return describe(namespace, env.config)


def describe(namespace: Namespace, config: FrontendConfig) -> DescribeNamespaceResponse:
    """A namespace as Temporal describes it, advertising only what Strom supports."""
    info = NamespaceInfo(
        name=namespace.name,
        state=namespace.state.proto,
        description=namespace.description,
        owner_email=namespace.owner_email,
        data=dict(namespace.data),
        id=namespace.id,
        # Only eager workflow start is served; no updates, worker heartbeats, poller
        # autoscaling or graceful poll completion on ShutdownWorker yet.
        capabilities=NamespaceInfo.Capabilities(eager_workflow_start=True),
        limits=NamespaceInfo.Limits(
            blob_size_limit_error=config.blob_size_limit_error,
            memo_size_limit_error=config.blob_size_limit_error,
        ),
        supports_schedules=False,
    )
    retention_ns = namespace.retention_ms * 1_000_000
    namespace_config = NamespaceConfig(
        workflow_execution_retention_ttl=Duration(
            seconds=retention_ns // 10**9, nanos=retention_ns % 10**9
        ),
        bad_binaries=BadBinaries(),
        history_archival_state=archival_proto(namespace.history_archival_state),
        history_archival_uri=namespace.history_archival_uri,
        visibility_archival_state=archival_proto(namespace.visibility_archival_state),
        visibility_archival_uri=namespace.visibility_archival_uri,
    )
    # A local namespace lives here only; a global one names its clusters.
    active = namespace.active_cluster or config.cluster_name
    clusters = namespace.clusters or (active,)
    replication = NamespaceReplicationConfig(
        active_cluster_name=active,
        clusters=[ClusterReplicationConfig(cluster_name=name) for name in clusters],
        state=ReplicationState.REPLICATION_STATE_NORMAL,
    )
    return DescribeNamespaceResponse(
        namespace_info=info,
        config=namespace_config,
        replication_config=replication,
        failover_version=namespace.failover_version,
        is_global_namespace=namespace.is_global,
    )
