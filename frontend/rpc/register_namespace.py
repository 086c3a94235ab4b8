"""RegisterNamespace: a new namespace on the namespaces topic (`namespace create`)."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest, RegisterNamespaceResponse

from frontend import errors, namespace_rules, namespace_store
from frontend.context import Call, Env
from schemas.namespaces import ARCHIVAL_DISABLED, Namespace, fresh_namespace_id


async def handle(
    env: Env, request: RegisterNamespaceRequest, call: Call
) -> RegisterNamespaceResponse:
    """Registers a local namespace; Temporal's checks in Temporal's order.

    A name in use answers ALREADY_EXISTS (NamespaceAlreadyExistsFailure); a deleted namespace
    no longer holds its name (it was renamed), so the name can be registered again.
    """
    namespace_rules.check_name(request.namespace, env.config.max_id_length)
    if request.is_global_namespace:
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
    namespace_rules.check_clusters(
        env.config.cluster_name, request.active_cluster_name, request.clusters
    )
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
    )
    await namespace_store.write(env, namespace, "register")
    return RegisterNamespaceResponse()
