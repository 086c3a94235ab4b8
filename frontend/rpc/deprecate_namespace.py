"""DeprecateNamespace: a namespace stops accepting new executions; running ones go on."""

from __future__ import annotations

from dataclasses import replace

from temporalio.api.workflowservice.v1 import (
    DeprecateNamespaceRequest,
    DeprecateNamespaceResponse,
)

from frontend import namespace_rules, namespace_store
from frontend.context import Call, Env, require_namespace
from schemas.namespaces import State


async def handle(
    env: Env, request: DeprecateNamespaceRequest, call: Call
) -> DeprecateNamespaceResponse:
    """Sets the state DEPRECATED and bumps the version, even when already deprecated.

    From then on StartWorkflowExecution and SignalWithStartWorkflowExecution answer
    FAILED_PRECONDITION (NamespaceInvalidStateFailure); every other RPC still works.
    """
    namespace_rules.check_name(request.namespace, env.config.max_id_length)
    namespace = require_namespace(env, request.namespace)
    await namespace_store.write(env, replace(namespace, state=State.DEPRECATED), "deprecate")
    return DeprecateNamespaceResponse()
