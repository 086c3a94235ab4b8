"""DeleteNamespace: a namespace is renamed and marked DELETED (``temporal operator namespace
delete``); the internal worker removes its runs, then its record."""

from __future__ import annotations

import logging
from dataclasses import replace

from temporalio.api.operatorservice.v1 import DeleteNamespaceRequest, DeleteNamespaceResponse

from frontend import errors, namespace_store
from frontend.context import Call, Env, call_visibility
from frontend.namespace_rules import check_name
from schemas.namespaces import Namespace, State, deleted_name
from schemas.retention import SYSTEM_NAMESPACE, all_runs_query

logger = logging.getLogger(__name__)


async def handle(env: Env, request: DeleteNamespaceRequest, call: Call) -> DeleteNamespaceResponse:
    """Renames the namespace to ``<name>-deleted-<id[:5]>`` with state DELETED, as Temporal.

    The old name is free at once (NOT_FOUND for it, and it can be registered again); the
    renamed namespace refuses every workflow RPC but List, Count and Delete
    (FAILED_PRECONDITION). Strom's internal worker then deletes its runs (its reclaim
    workflow, as Temporal's) and deletes the namespace again: a deleted namespace with no run
    left in visibility loses its record. The two writes of the rename (the renamed record,
    then the old name's tombstone) are not atomic; a crash between them leaves the namespace
    under both names, and deleting it again finishes the job.
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
    if namespace.name == SYSTEM_NAMESPACE:
        raise errors.failed_precondition("unable to delete system namespace")
    if namespace.state is State.DELETED:
        await _remove_if_empty(env, namespace, call)
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
        "namespace %s deleted, renamed to %s; the internal worker removes its workflows",
        namespace.name,
        renamed.name,
    )
    return DeleteNamespaceResponse(deleted_namespace=renamed.name)


async def _remove_if_empty(env: Env, namespace: Namespace, call: Call) -> None:
    """Drops a deleted namespace's record once visibility holds none of its runs."""
    counted = await call_visibility(
        env,
        call,
        env.visibility.count(namespace.name, all_runs_query(), namespace_id=namespace.id),
    )
    if counted.count:
        return
    await namespace_store.remove(env, namespace.name, "delete")
    logger.info("deleted namespace %s has no workflows left; its record is removed", namespace.name)
