"""DeleteNamespace: a namespace is renamed and marked DELETED (``temporal operator namespace
delete``)."""

from __future__ import annotations

import logging
from dataclasses import replace

from temporalio.api.operatorservice.v1 import DeleteNamespaceRequest, DeleteNamespaceResponse

from frontend import errors, namespace_store
from frontend.context import Call, Env
from frontend.namespace_rules import check_name
from schemas.namespaces import State, deleted_name

logger = logging.getLogger(__name__)


async def handle(env: Env, request: DeleteNamespaceRequest, call: Call) -> DeleteNamespaceResponse:
    """Renames the namespace to ``<name>-deleted-<id[:5]>`` with state DELETED, as Temporal.

    The old name is free at once (NOT_FOUND for it, and it can be registered again); the
    renamed namespace refuses every workflow RPC (FAILED_PRECONDITION). Its workflows stay
    in Kafka and Elasticsearch for now: removing them, and then the namespace record, is the
    job of Strom's internal worker, which does not exist yet. The two writes (the renamed
    record, then the old name's tombstone) are not atomic; a crash between them leaves the
    namespace under both names, and deleting it again finishes the job.
    """
    if request.namespace and request.namespace_id:
        raise errors.invalid_argument("only one of namespace or namespace ID must be set")
    if request.namespace_id:
        namespace = env.namespaces.get_by_id(request.namespace_id)
        missing = request.namespace_id
    else:
        check_name(request.namespace, env.config.max_id_length)
        namespace = env.namespaces.get(request.namespace)
        missing = request.namespace
    if namespace is None:
        raise errors.namespace_not_found(missing)
    if namespace.state is State.DELETED:
        return DeleteNamespaceResponse(deleted_namespace=namespace.name)
    renamed = replace(
        namespace,
        name=deleted_name(namespace),
        state=State.DELETED,
        version=namespace.version + 1,
    )
    await namespace_store.write(env, renamed, "delete")
    await namespace_store.remove(env, namespace.name, "delete")
    logger.info(
        "namespace %s deleted, renamed to %s; its workflows are not removed yet",
        namespace.name,
        renamed.name,
    )
    return DeleteNamespaceResponse(deleted_namespace=renamed.name)
