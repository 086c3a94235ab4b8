"""GetSearchAttributes: every search attribute name the cluster knows, with its type."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import (
    GetSearchAttributesRequest,
    GetSearchAttributesResponse,
)

from frontend.context import ACTIVE_STATES, Call, Env
from schemas.visibility import attributes as sa


async def handle(
    env: Env, request: GetSearchAttributesRequest, call: Call
) -> GetSearchAttributesResponse:
    """System and predefined attributes, then the custom ones of every namespace.

    The request names no namespace: Temporal answers with its cluster's attributes. Strom keeps
    custom attributes per namespace, so it lists all of them; a name two namespaces gave
    different types shows the type of the first namespace in name order.
    """
    keys = {name: t.proto for name, t in {**sa.SYSTEM, **sa.PREDEFINED}.items()}
    for namespace in env.namespaces.list():
        if namespace.state not in ACTIVE_STATES:
            continue
        for name, value_type in namespace.custom_search_attributes().items():
            keys.setdefault(name, value_type.proto)
    return GetSearchAttributesResponse(keys=keys)
