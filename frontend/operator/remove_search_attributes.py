"""RemoveSearchAttributes: drops custom search attributes of a namespace."""

from __future__ import annotations

from temporalio.api.operatorservice.v1 import (
    RemoveSearchAttributesRequest,
    RemoveSearchAttributesResponse,
)

from frontend.context import Call, Env
from frontend.errors import invalid_argument
from frontend.operator.common import (
    ERR_SEARCH_ATTRIBUTES_NOT_SET,
    named_namespace,
    required,
    save,
)
from schemas.visibility import attributes as sa


async def handle(
    env: Env, request: RemoveSearchAttributesRequest, call: Call
) -> RemoveSearchAttributesResponse:
    """Removes the named custom attributes; unknown names are skipped, system and predefined
    ones are INVALID_ARGUMENT (Temporal's rules).

    Indexed values stay in Elasticsearch (as on Temporal): queries stop naming them, and
    adding the attribute again with the same type finds them again.
    """
    named = named_namespace(env, request.namespace)
    if not request.search_attributes:
        raise invalid_argument(ERR_SEARCH_ATTRIBUTES_NOT_SET)
    namespace = required(named)
    remaining = dict(namespace.search_attributes)
    for name in request.search_attributes:
        if name in remaining:
            del remaining[name]
        elif name in sa.SYSTEM or name in sa.PREDEFINED:
            raise invalid_argument(f"Unable to remove non-custom search attributes: {name}.")
    if len(remaining) != len(namespace.search_attributes):
        await save(env, namespace, remaining)
    return RemoveSearchAttributesResponse()
